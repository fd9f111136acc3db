"""Races on PostgreSQL with real connections: workers, passes and locks at the same time."""

import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

import reconciler.reconcile as reconcile_module
from app.models import OperationRun
from app.operations.lifecycle import LateReport, complete_run
from reconciler.reconcile import run_pass
from tests.conftest import T0
from tests.factories import make_workspace
from tests.reconciler.conftest import (
    add_run,
    add_stale_runs,
    change_count,
    events,
    reconciled_event_counts,
    reload,
)

pytestmark = pytest.mark.postgres
DUE = T0 + timedelta(hours=2)
WAIT = 10


def _stale(count=1):
    workspace = make_workspace(slug=f"race-{count}")
    add_stale_runs(workspace.id, count, T0)
    return sa.select(OperationRun).order_by(OperationRun.id)


def _wait_for(predicate, what):
    deadline = time.monotonic() + WAIT
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def _blocked_on_a_lock(engine):
    with engine.connect() as conn:
        return bool(
            conn.scalar(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
        )


class Worker(threading.Thread):
    """A worker completing ``run_id`` through the lifecycle in its own app context."""

    def __init__(self, app, run_id):
        super().__init__(daemon=True)
        self.app, self.run_id, self.result = app, run_id, None

    def run(self):
        from app.extensions import db

        with self.app.app_context():
            run = db.session.get(OperationRun, self.run_id)
            try:
                complete_run(run, outcome="succeeded", now=DUE, actor="worker")
                self.result = "completed"
            except LateReport:
                self.result = "late_report"


def test_a_completion_arriving_while_the_pass_holds_the_batch_waits_and_is_kept_as_late(
    pg_app, pg_db, clock, side_engine, monkeypatch
):
    first, *_ = pg_db.session.scalars(_stale(3)).all()
    clock.set(DUE)
    real = reconcile_module.reconcile_runs
    worker = Worker(pg_app, first.id)

    def with_worker_blocked(closures, **kwargs):
        worker.start()
        _wait_for(lambda: _blocked_on_a_lock(side_engine), "the worker to block on the row")
        return real(closures, **kwargs)

    monkeypatch.setattr(reconcile_module, "reconcile_runs", with_worker_blocked)
    summary = run_pass(holder="test")
    worker.join(WAIT)
    assert worker.result == "late_report"
    assert summary.reconciled == 3
    closed = reload(first)
    assert (closed.outcome, closed.reconciliation_reason) == ("failed", "stale_lifecycle_exceeded")
    assert len(events("reconciled", first.id)) == 1
    [late] = events("late_report", first.id)
    assert late.data["report"] == "complete" and late.data["outcome"] == "succeeded"
    assert events("completed", first.id) == []


def test_a_completion_in_flight_when_the_pass_selects_is_skipped_and_wins(
    pg_app, pg_db, clock, side_engine
):
    first, second = pg_db.session.scalars(_stale(2)).all()
    clock.set(DUE)
    with side_engine.connect() as worker:
        worker.execute(
            sa.update(OperationRun)
            .where(OperationRun.id == first.id, OperationRun.status == "running")
            .values(status="completed", outcome="succeeded", completed_at=DUE)
        )
        summary = run_pass(holder="test")
        worker.commit()
    assert (summary.scanned, summary.reconciled) == (1, 1)
    assert (reload(first).outcome, reload(first).reconciled_at) == ("succeeded", None)
    assert reload(second).reconciliation_reason == "stale_lifecycle_exceeded"
    assert run_pass(holder="test").scanned == 0
    assert events("reconciled", first.id) == []


def test_a_completion_committed_between_select_and_update_wins_by_compare_and_set(
    pg_app, pg_db, clock, monkeypatch
):
    """Without row locks the compare-and-set alone keeps the worker's result."""
    first, second = pg_db.session.scalars(_stale(2)).all()
    clock.set(DUE)
    real = reconcile_module.reconcile_runs
    worker = Worker(pg_app, first.id)

    def worker_commits_first(closures, **kwargs):
        worker.start()
        worker.join(WAIT)
        return real(closures, **kwargs)

    monkeypatch.setattr(reconcile_module, "reconcile_runs", worker_commits_first)
    summary = run_pass(holder="test", lock_rows=False)
    assert worker.result == "completed"
    assert (summary.scanned, summary.reconciled, summary.skipped) == (2, 1, 1)
    done = reload(first)
    assert (done.outcome, done.reconciled_at) == ("succeeded", None)
    assert events("reconciled", first.id) == [] and len(events("completed", first.id)) == 1
    assert reload(second).status == "completed" and reload(second).reconciled_at == DUE


@pytest.mark.parametrize("lock_rows", [True, False], ids=["skip-locked", "cas-only"])
def test_two_passes_at_once_close_each_of_2000_runs_exactly_once(pg_app, pg_db, clock, lock_rows):
    _stale(2000)
    clock.set(DUE)
    start = threading.Barrier(2)
    summaries, failures = [], []

    def one_pass(name):
        with pg_app.app_context():
            try:
                start.wait(WAIT)
                summaries.append(run_pass(holder=name, batch_size=50, lock_rows=lock_rows))
            except Exception as exc:  # reported below
                failures.append(exc)

    threads = [threading.Thread(target=one_pass, args=(f"pass-{n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert sum(s.reconciled for s in summaries) == 2000
    assert sum(s.errors for s in summaries) == 0
    if lock_rows:
        # SKIP LOCKED shares the work: no run is seen by both passes.
        assert sum(s.scanned for s in summaries) == 2000
        assert all(s.reconciled > 0 for s in summaries)
    counts = reconciled_event_counts()
    assert len(counts) == 2000 and set(counts.values()) == {1}
    assert change_count() == 2000
    statuses = pg_db.session.scalars(sa.select(OperationRun.status).distinct()).all()
    assert statuses == ["completed"]


def test_a_late_heartbeat_from_another_connection_never_reopens(pg_app, pg_db, clock):
    workspace = make_workspace(slug="late")
    run = add_run(workspace, type="report_export", status="running", created_at=T0, started_at=T0)
    clock.set(DUE)
    assert run_pass(holder="test").reconciled == 1
    worker = Worker(pg_app, run.id)
    worker.start()
    worker.join(WAIT)
    assert worker.result == "late_report"
    assert reload(run).outcome == "failed"
