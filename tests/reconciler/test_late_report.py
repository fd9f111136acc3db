"""A worker reporting after the reconciler closed its run: 409, kept as a late report."""

from datetime import timedelta

import pytest

from app.operations.lifecycle import LateReport, complete_run, heartbeat
from app.operations.tokens import create_token
from reconciler.reconcile import run_pass
from tests.conftest import T0
from tests.reconciler.conftest import events, reload

# baseline_compare: no heartbeat for 5 min, then a 30 min grace.
DUE = T0 + timedelta(minutes=5 + 30)


@pytest.fixture
def api_headers(workspace, clock):
    secret = create_token(workspace, "worker-1", now=clock.now()).secret
    return {"Authorization": f"Bearer {secret}"}


def _reconciled_run(client, headers, clock):
    created = client.post(
        "/api/v1/runs", json={"type": "baseline_compare", "status": "running"}, headers=headers
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    run_id = created.get_json()["id"]
    beat = client.post(f"/api/v1/runs/{run_id}/heartbeat", json={}, headers=headers)
    assert beat.status_code == 200
    clock.set(DUE)
    assert run_pass(holder="test").reconciled == 1
    return run_id


@pytest.mark.parametrize(
    "call, body, report",
    [
        ("heartbeat", {"processed": 7}, "heartbeat"),
        ("complete", {"outcome": "succeeded"}, "complete"),
    ],
)
def test_a_report_after_reconciliation_answers_409_and_is_kept(
    app, db, client, api_headers, clock, call, body, report
):
    run_id = _reconciled_run(client, api_headers, clock)
    clock.advance(60)
    response = client.post(f"/api/v1/runs/{run_id}/{call}", json=body, headers=api_headers)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "run_already_completed"
    shown = client.get(f"/api/v1/runs/{run_id}", headers=api_headers).get_json()
    assert (shown["status"], shown["outcome"]) == ("completed", "failed")
    assert (shown["freshness"], shown["reconciliation_reason"]) == (
        "reconciled_failed",
        "stale_no_heartbeat",
    )
    assert shown["reconciled_at"] == DUE.isoformat(timespec="microseconds") + "Z"
    [late] = events("late_report", run_id)
    assert late.data["report"] == report and late.at == DUE + timedelta(seconds=60)
    assert len(events("reconciled", run_id)) == 1


def test_late_reports_through_the_lifecycle_never_reopen(app, db, client, api_headers, clock):
    run_id = _reconciled_run(client, api_headers, clock)
    from app.models import OperationRun

    run = db.session.get(OperationRun, run_id)
    with pytest.raises(LateReport):
        heartbeat(run, now=DUE, actor="worker", processed=3)
    with pytest.raises(LateReport):
        complete_run(run, outcome="succeeded", now=DUE, actor="worker")
    closed = reload(run)
    assert (closed.outcome, closed.reconciled_at, closed.processed) == ("failed", DUE, None)
    assert [e.data["report"] for e in events("late_report", run_id)] == ["heartbeat", "complete"]
