"""flask reconcile --once prints the pass summary as one JSON object."""

import json
from datetime import timedelta

from app.models import ReconcilerPass
from tests.conftest import T0
from tests.reconciler.conftest import add_stale_runs


def test_reconcile_once_prints_the_summary(app, db, workspace, clock):
    add_stale_runs(workspace.id, 3, T0)
    clock.set(T0 + timedelta(hours=2))
    result = app.test_cli_runner().invoke(args=["reconcile", "--once"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert set(summary) == {"scanned", "reconciled", "skipped", "errors", "duration_ms", "pass_id"}
    assert (summary["scanned"], summary["reconciled"], summary["skipped"]) == (3, 3, 0)
    assert summary["errors"] == 0 and summary["duration_ms"] >= 0
    record = db.session.get(ReconcilerPass, summary["pass_id"])
    assert record.holder.endswith("(cli)") and record.reconciled == 3


def test_reconcile_without_once_points_to_the_scheduler(app):
    result = app.test_cli_runner().invoke(args=["reconcile"])
    assert result.exit_code == 1
    assert "python -m reconciler" in result.output
