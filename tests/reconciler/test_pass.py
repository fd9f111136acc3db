"""One pass, driven by the fake clock: boundaries, reasons, messages, batches, errors."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

import reconciler.reconcile as reconcile_module
from app.models import OperationRun, ReconcilerPass
from app.operations.freshness import freshness
from reconciler.reconcile import MAX_ERRORS, PassAborted, run_pass
from tests.conftest import T0
from tests.reconciler.conftest import (
    MIN,
    add_run,
    add_stale_runs,
    change_count,
    events,
    reconciled_event_counts,
    reload,
)

S = timedelta(seconds=1)


def _runs_by_reason(workspace):
    """One run per stale reason, all created or started at T0 (default policy)."""
    return {
        "never_started": add_run(workspace, status="queued", created_at=T0),
        "no_heartbeat": add_run(
            workspace, status="running", created_at=T0, started_at=T0, last_heartbeat_at=T0 + MIN
        ),
        # Heartbeats keep coming (44 min) but progress stopped at the start.
        "no_progress": add_run(
            workspace,
            type="inventory_sync",
            status="running",
            created_at=T0,
            started_at=T0,
            last_heartbeat_at=T0 + 44 * MIN,
            processed=10,
        ),
        "lifecycle_exceeded": add_run(
            workspace, type="report_export", status="running", created_at=T0, started_at=T0
        ),
    }


EXPECTED = {
    # reason: (reconcile_at offset, stale_since offset, text naming the threshold)
    "never_started": (45 * MIN, 15 * MIN, "queued_stale = 900 s"),
    "no_heartbeat": (36 * MIN, 6 * MIN, "heartbeat_stale = 300 s"),
    "no_progress": (45 * MIN, 15 * MIN, "progress_stale = 900 s"),
    "lifecycle_exceeded": (35 * MIN, 20 * MIN, "running_stale = 1200 s"),
}


@pytest.mark.parametrize("reason", sorted(EXPECTED))
def test_one_second_before_reconcile_at_the_run_stays_open(app, workspace, clock, policy, reason):
    run = _runs_by_reason(workspace)[reason]
    reconcile_at = T0 + EXPECTED[reason][0]
    assert freshness(run, policy, reconcile_at).reconcile_at == reconcile_at
    clock.set(reconcile_at - S)
    summary = run_pass(holder="test")
    assert reload(run).status != "completed"
    assert events("reconciled", run.id) == []
    clock.set(reconcile_at)
    summary = run_pass(holder="test")
    assert summary.reconciled >= 1
    assert reload(run).status == "completed"


@pytest.mark.parametrize("reason", sorted(EXPECTED))
def test_each_stale_reason_gives_its_reason_and_an_auditable_message(app, workspace, clock, reason):
    run = _runs_by_reason(workspace)[reason]
    offset, stale_since, threshold = EXPECTED[reason]
    clock.set(T0 + offset)
    summary = run_pass(holder="test")
    closed = reload(run)
    assert closed.status == "completed" and closed.outcome == "failed"
    assert closed.completed_at == closed.reconciled_at == T0 + offset
    assert closed.reconciliation_reason == f"stale_{reason}"
    message = closed.reconciliation_message
    assert closed.failure_message == message
    assert threshold in message
    assert f"Likely stale since {(T0 + stale_since).isoformat(timespec='microseconds')}Z" in message
    assert f"Reconciler pass {summary.pass_id}." in message
    assert "created 2026-11-26T12:00:00.000000Z" in message
    [event] = events("reconciled", run.id)
    assert event.actor == "reconciler"
    assert event.data == {
        "reason": f"stale_{reason}",
        "message": message,
        "pass_id": summary.pass_id,
    }


def test_messages_name_what_was_observed(app, workspace, clock):
    runs = _runs_by_reason(workspace)
    clock.set(T0 + 50 * MIN)
    run_pass(holder="test")
    heartbeat = reload(runs["no_heartbeat"]).reconciliation_message
    assert "no heartbeat for more than 5 min" in heartbeat
    assert "last heartbeat 2026-11-26T12:01:00.000000Z" in heartbeat
    assert "last progress none" in heartbeat
    progress = reload(runs["no_progress"]).reconciliation_message
    assert "no progress for more than 15 min" in progress
    assert "last heartbeat 2026-11-26T12:44:00.000000Z" in progress
    queued = reload(runs["never_started"]).reconciliation_message
    assert "queued without starting for more than 15 min" in queued
    assert "never started" in queued


def test_fresh_past_expected_within_grace_and_terminal_runs_are_never_touched(
    app, workspace, clock
):
    now = T0 + 3 * 60 * MIN
    clock.set(now)
    untouched = [
        add_run(workspace, status="running", created_at=now, started_at=now - MIN),
        # Past expected (15 min of a 10 min window), heartbeat fresh.
        add_run(
            workspace,
            status="running",
            created_at=now - 16 * MIN,
            started_at=now - 15 * MIN,
            last_heartbeat_at=now - MIN,
        ),
        # Likely stale (no heartbeat for 20 min) but inside its 30 min grace.
        add_run(
            workspace,
            status="running",
            created_at=now - 60 * MIN,
            started_at=now - 25 * MIN,
            last_heartbeat_at=now - 20 * MIN,
        ),
        add_run(
            workspace,
            status="completed",
            outcome="succeeded",
            created_at=T0,
            started_at=T0,
            completed_at=T0 + MIN,
        ),
        add_run(
            workspace,
            status="completed",
            outcome="failed",
            created_at=T0,
            started_at=T0,
            completed_at=T0 + 40 * MIN,
            reconciled_at=T0 + 40 * MIN,
            reconciliation_reason="stale_no_heartbeat",
        ),
    ]
    before = [(r.status, r.outcome, r.completed_at, r.reconciled_at) for r in untouched]
    summary = run_pass(holder="test")
    assert (summary.scanned, summary.reconciled, summary.skipped) == (0, 0, 0)
    after = [reload(r) for r in untouched]
    assert [(r.status, r.outcome, r.completed_at, r.reconciled_at) for r in after] == before
    assert events("reconciled") == [] and change_count() == 0


def test_batches_close_every_due_run_once_and_record_the_pass(app, db, workspace, clock):
    add_stale_runs(workspace.id, 7, T0)
    clock.set(T0 + 2 * 60 * MIN)
    summary = run_pass(holder="host:1 (test)", batch_size=3)
    assert (summary.scanned, summary.reconciled, summary.skipped, summary.errors) == (7, 7, 0, 0)
    assert summary.outcome == "finished"
    assert set(reconciled_event_counts().values()) == {1} and len(reconciled_event_counts()) == 7
    assert change_count() == 7
    record = db.session.get(ReconcilerPass, summary.pass_id)
    assert record.holder == "host:1 (test)"
    assert record.started_at == record.finished_at == T0 + 2 * 60 * MIN
    assert (record.scanned, record.reconciled, record.error_count, record.errors) == (7, 7, 0, None)
    assert run_pass(holder="test").scanned == 0


def test_one_failing_run_does_not_stop_the_pass(app, db, workspace, clock, monkeypatch):
    """The batch UPDATE fails because of one row: each run is retried on its own."""
    add_stale_runs(workspace.id, 5, T0)
    clock.set(T0 + 2 * 60 * MIN)
    bad = db.session.scalars(sa.select(OperationRun.id).order_by(OperationRun.id)).all()[1]
    real_many, real_one = reconcile_module.reconcile_runs, reconcile_module.reconcile_run

    def many(closures, **kwargs):
        real_many(closures, **kwargs)
        if bad in [run.id for run, _, _ in closures]:
            raise ValueError("disk on fire\nsecond line")

    def one(run, **kwargs):
        real_one(run, **kwargs)
        if run.id == bad:
            raise ValueError("disk on fire\nsecond line")
        return True

    monkeypatch.setattr(reconcile_module, "reconcile_runs", many)
    monkeypatch.setattr(reconcile_module, "reconcile_run", one)
    summary = run_pass(holder="test", batch_size=10)
    assert (summary.scanned, summary.reconciled, summary.skipped, summary.errors) == (5, 4, 0, 1)
    assert db.session.get(OperationRun, bad).status == "running"
    counts = reconciled_event_counts()
    assert bad not in counts and len(counts) == 4 and set(counts.values()) == {1}
    assert change_count() == 4
    record = db.session.get(ReconcilerPass, summary.pass_id)
    assert record.error_count == 1
    assert record.errors == [{"run_id": bad, "error": "ValueError: disk on fire"}]
    monkeypatch.undo()
    assert run_pass(holder="test").reconciled == 1


def test_a_run_whose_message_cannot_be_built_fails_alone(app, db, workspace, clock, monkeypatch):
    add_stale_runs(workspace.id, 3, T0)
    clock.set(T0 + 2 * 60 * MIN)
    bad = db.session.scalars(sa.select(OperationRun.id).order_by(OperationRun.id)).all()[0]
    real = reconcile_module.describe

    def describe(run, *args):
        if run.id == bad:
            raise KeyError("no wording")
        return real(run, *args)

    monkeypatch.setattr(reconcile_module, "describe", describe)
    summary = run_pass(holder="test")
    assert (summary.reconciled, summary.errors, summary.skipped) == (2, 1, 0)
    record = db.session.get(ReconcilerPass, summary.pass_id)
    assert record.errors == [{"run_id": bad, "error": "KeyError: 'no wording'"}]


def test_the_error_list_is_bounded(app, db, workspace, clock, monkeypatch):
    add_stale_runs(workspace.id, MAX_ERRORS + 5, T0)
    clock.set(T0 + 2 * 60 * MIN)

    def broken(*args, **kwargs):
        raise RuntimeError("broken")

    monkeypatch.setattr(reconcile_module, "reconcile_runs", broken)
    monkeypatch.setattr(reconcile_module, "reconcile_run", broken)
    summary = run_pass(holder="test", batch_size=7)
    record = db.session.get(ReconcilerPass, summary.pass_id)
    assert summary.errors == record.error_count == MAX_ERRORS + 5
    assert len(record.errors) == MAX_ERRORS
    assert record.finished_at is not None
    assert db.session.scalar(sa.select(sa.func.count()).where(OperationRun.status == "running"))


def test_a_pass_killed_midway_leaves_consistent_data_and_the_next_finishes(
    app, db, workspace, clock, monkeypatch
):
    add_stale_runs(workspace.id, 10, T0)
    clock.set(T0 + 2 * 60 * MIN)
    real = reconcile_module._select_batch
    calls = []

    def dies_after_first_batch(*args):
        calls.append(1)
        if len(calls) == 2:
            raise ConnectionError("killed")
        return real(*args)

    monkeypatch.setattr(reconcile_module, "_select_batch", dies_after_first_batch)
    with pytest.raises(PassAborted) as aborted:  # one worker: its second batch is the 2nd call
        run_pass(holder="test", batch_size=4, workers=1)
    record = db.session.get(ReconcilerPass, aborted.value.pass_id)
    assert record.finished_at is None
    assert (record.scanned, record.reconciled, record.error_count) == (4, 4, 1)
    assert record.errors == [{"pass": "aborted", "error": "ConnectionError: killed"}]
    statuses = db.session.scalars(sa.select(OperationRun.status).order_by(OperationRun.id)).all()
    assert statuses == ["completed"] * 4 + ["running"] * 6
    assert len(reconciled_event_counts()) == 4 and change_count() == 4

    monkeypatch.setattr(reconcile_module, "_select_batch", real)
    clock.advance(30)
    assert run_pass(holder="test", batch_size=4).reconciled == 6
    counts = reconciled_event_counts()
    assert len(counts) == 10 and set(counts.values()) == {1}


def test_a_run_completed_between_select_and_update_is_left_alone(
    app, db, workspace, clock, monkeypatch
):
    run = add_run(workspace, type="report_export", status="running", created_at=T0, started_at=T0)
    clock.set(T0 + 2 * 60 * MIN)
    real = reconcile_module.reconcile_runs

    def worker_finishes_first(closures, **kwargs):
        # Same transaction, so this works on in-memory SQLite too; the PostgreSQL race
        # tests do it from a real second connection.
        db.session.execute(
            sa.update(OperationRun)
            .where(OperationRun.id == run.id)
            .values(status="completed", outcome="succeeded", completed_at=clock.now())
        )
        return real(closures, **kwargs)

    monkeypatch.setattr(reconcile_module, "reconcile_runs", worker_finishes_first)
    summary = run_pass(holder="test")
    assert (summary.scanned, summary.reconciled, summary.skipped) == (1, 0, 1)
    done = reload(run)
    assert (done.outcome, done.reconciled_at) == ("succeeded", None)
    assert events("reconciled") == []


def test_keep_going_false_stops_between_batches(app, db, workspace, clock):
    add_stale_runs(workspace.id, 5, T0)
    clock.set(T0 + 2 * 60 * MIN)
    summary = run_pass(holder="test", batch_size=2, keep_going=lambda: False, workers=1)
    assert (summary.outcome, summary.reconciled) == ("stopped", 2)
    record = db.session.get(ReconcilerPass, summary.pass_id)
    assert record.finished_at is not None and record.error_count == 0
    assert record.errors == [{"pass": "stopped", "error": "stopped between batches"}]


def test_runs_of_every_workspace_are_reconciled(app, db, workspace, clock):
    from tests.factories import make_workspace

    other = make_workspace(slug="globex")
    add_stale_runs(workspace.id, 2, T0)
    add_stale_runs(other.id, 3, T0)
    clock.set(T0 + 2 * 60 * MIN)
    assert run_pass(holder="test").reconciled == 5


def test_a_pass_with_nothing_due_is_recorded_whole_in_one_commit(app, db, workspace, clock):
    add_run(workspace, status="queued", created_at=T0)  # fresh: nothing is due
    clock.set(T0)
    statements, commits = [], []

    def statement(_conn, _cursor, sql, *_args):
        statements.append(sql)

    def commit(_conn):
        commits.append(1)

    sa.event.listen(db.engine, "before_cursor_execute", statement)
    sa.event.listen(db.engine, "commit", commit)
    try:
        summary = run_pass(holder="test")
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", statement)
        sa.event.remove(db.engine, "commit", commit)
    assert (summary.scanned, summary.reconciled, summary.errors) == (0, 0, 0)
    assert len(statements) == 2 and len(commits) == 1  # the due check, the pass row
    record = db.session.get(ReconcilerPass, summary.pass_id)
    assert record.started_at == T0 and record.finished_at == T0
    assert (record.scanned, record.reconciled, record.error_count, record.errors) == (0, 0, 0, None)
