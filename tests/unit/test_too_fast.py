"""running_min: a successful run shorter than its type's minimum needs a follow-up."""

from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.models import OperationRun
from app.operations import freshness as fr
from app.operations.policy import DEFAULT_TYPES, Policy, PolicyError, load_policy
from tests.conftest import T0
from tests.factories import make_workspace

US = timedelta(microseconds=1)
MIN = 30


def _policy(running_min=MIN):
    return Policy(
        {"t": replace(DEFAULT_TYPES["inventory_sync"], name="t", running_min=running_min)}
    )


@pytest.mark.parametrize(
    "took, outcome, expected",
    [
        (timedelta(seconds=MIN) - US, "succeeded", fr.TERMINAL_FOLLOW_UP),
        (timedelta(seconds=MIN), "succeeded", fr.NO_PROBLEM),  # not shorter than it
        (timedelta(seconds=MIN) + US, "succeeded", fr.NO_PROBLEM),
        (timedelta(0), "succeeded", fr.TERMINAL_FOLLOW_UP),
        (timedelta(seconds=1), "cancelled", fr.NO_PROBLEM),  # only successes are suspicious
        (timedelta(seconds=1), "failed", fr.TERMINAL_FOLLOW_UP),
    ],
)
def test_python_and_sql_agree_at_the_minimum(db, took, outcome, expected):
    policy = _policy()
    workspace = make_workspace()
    run = OperationRun(
        workspace_id=workspace.id,
        type="t",
        status="completed",
        outcome=outcome,
        created_at=T0 - timedelta(hours=1),
        started_at=T0 - timedelta(minutes=30),
        completed_at=T0 - timedelta(minutes=30) + took,
    )
    other = OperationRun(**{c: getattr(run, c) for c in ("workspace_id", "status", "outcome")})
    other.type, other.created_at = "unconfigured", run.created_at
    other.started_at, other.completed_at = run.started_at, run.completed_at
    db.session.add_all([run, other])
    db.session.commit()
    assert fr.problem_class(run, policy, T0) == expected
    at = fr.instant(policy, T0)
    rows = {}
    for problem in fr.PROBLEM_CLASSES:
        query = sa.select(OperationRun.id).where(fr.problem_class_clause(problem, policy))
        for run_id in db.session.scalars(query, at):
            assert run_id not in rows, "one problem class each"
            rows[run_id] = problem
    assert rows[run.id] == expected
    # A type without running_min never has a too-fast run.
    assert rows[other.id] == (fr.TERMINAL_FOLLOW_UP if outcome == "failed" else fr.NO_PROBLEM)


def test_a_too_fast_run_leaves_the_follow_up_window_like_any_other(db):
    policy = _policy()
    run = OperationRun(
        type="t", status="completed", outcome="succeeded", started_at=T0, completed_at=T0
    )
    later = T0 + timedelta(seconds=policy.follow_up_window) + US
    assert fr.problem_class(run, policy, later) == fr.NO_PROBLEM


def test_without_running_min_the_follow_up_clause_is_unchanged():
    plain = Policy(dict(DEFAULT_TYPES))
    assert "julianday" not in str(fr.follow_up_clause(plain).compile())
    assert "EXTRACT" not in str(fr.follow_up_clause(plain).compile())


def test_toml_sets_and_switches_off_running_min(tmp_path):
    path = tmp_path / "types.toml"
    path.write_text(
        "[types.inventory_sync]\nrunning_min = 20\n[types.report_export]\nrunning_min = 0\n"
    )
    policy = load_policy(str(path))
    assert policy.types["inventory_sync"].running_min == 20
    assert policy.types["report_export"].running_min is None


@pytest.mark.parametrize(
    "value, message",
    [
        (-1, "running_min must not be negative"),
        (True, "running_min must be a whole number of seconds"),
        (1.5, "running_min must be a whole number of seconds"),
        (901, "running_min must be at most running_expected (901 > 900)"),
    ],
)
def test_bad_running_min_is_refused(tmp_path, value, message):
    path = tmp_path / "types.toml"
    text = str(value).lower() if isinstance(value, bool) else str(value)
    path.write_text(f"[types.inventory_sync]\nrunning_min = {text}\n")
    with pytest.raises(PolicyError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_policy(str(path))
