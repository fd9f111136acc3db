"""One pass shared by several workers on PostgreSQL (each run handled once, counters
exact, an error or a stop in one worker ending the pass for all), and how many there are."""

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

import reconciler.reconcile as reconcile_module
from app.extensions import db
from app.models import OperationRun, ReconcilerPass
from config import Config, ConfigError
from reconciler.reconcile import PassAborted, run_pass
from tests.conftest import T0
from tests.factories import make_workspace
from tests.reconciler.conftest import add_stale_runs, change_count, reconciled_event_counts

DUE = T0 + timedelta(hours=2)


def _stale(count):
    workspace = make_workspace(slug=f"workers-{count}")
    add_stale_runs(workspace.id, count, T0)
    return list(_open_ids())


def _open_ids():
    query = sa.select(OperationRun.id).where(OperationRun.status == "running")
    return db.session.scalars(query.order_by(OperationRun.id)).all()


def _record(pg_db, summary):
    pg_db.session.expire_all()
    return pg_db.session.get(ReconcilerPass, summary.pass_id)


@pytest.mark.postgres
def test_two_workers_share_the_batches_and_count_every_run_once(pg_app, pg_db, clock, monkeypatch):
    ids = _stale(2000)
    bad = set(ids[::100])  # 20 runs whose message cannot be built
    clock.set(DUE)
    real, workers_seen = reconcile_module.describe, set()

    def describe(run, *args):
        workers_seen.add(threading.current_thread().name)
        if run.id in bad:
            raise KeyError("no wording")
        return real(run, *args)

    monkeypatch.setattr(reconcile_module, "describe", describe)
    summary = run_pass(holder="test", batch_size=50, workers=2)

    assert (summary.scanned, summary.reconciled, summary.skipped, summary.errors) == (
        2000,
        1980,
        0,
        20,
    )
    assert len(workers_seen) == 2, "both workers closed runs"
    record = _record(pg_db, summary)
    assert (record.scanned, record.reconciled, record.skipped, record.error_count) == (
        2000,
        1980,
        0,
        20,
    )
    assert len(record.errors) == 20 and {e["run_id"] for e in record.errors} == bad
    counts = reconciled_event_counts()
    assert len(counts) == 1980 and set(counts.values()) == {1}
    assert change_count() == 1980
    assert set(_open_ids()) == bad


@pytest.mark.postgres
def test_an_error_in_one_worker_aborts_the_pass_and_keeps_what_was_committed(
    pg_app, pg_db, clock, monkeypatch
):
    _stale(1000)
    clock.set(DUE)
    real, calls, lock = reconcile_module._close, [], threading.Lock()

    def close(*args):
        with lock:
            calls.append(1)
            third = len(calls) == 3
        if third:
            raise RuntimeError("connection lost")
        return real(*args)

    monkeypatch.setattr(reconcile_module, "_close", close)
    with pytest.raises(PassAborted, match="connection lost"):
        run_pass(holder="test", batch_size=50, workers=2)

    record = pg_db.session.scalars(sa.select(ReconcilerPass)).one()
    assert record.finished_at is None
    assert record.errors[-1] == {"pass": "aborted", "error": "RuntimeError: connection lost"}
    closed = 1000 - len(_open_ids())
    # Both workers stop after their current batch; only committed batches count.
    assert closed == record.reconciled and closed % 50 == 0 and 0 < closed < 1000
    counts = reconciled_event_counts()
    assert len(counts) == closed and set(counts.values()) == {1}
    monkeypatch.undo()
    assert run_pass(holder="test", batch_size=50, workers=2).reconciled == 1000 - closed


@pytest.mark.postgres
def test_keep_going_false_stops_every_worker_after_its_batch(pg_app, pg_db, clock):
    _stale(500)
    clock.set(DUE)
    asked = []

    def keep_going():
        asked.append(threading.current_thread().name)
        return False

    summary = run_pass(holder="test", batch_size=50, workers=2, keep_going=keep_going)

    assert summary.outcome == "stopped" and len(asked) == 1, "asked once for all workers"
    # The other worker may have taken a batch before the stop: one or two batches.
    assert summary.reconciled in (50, 100)
    assert len(_open_ids()) == 500 - summary.reconciled
    record = _record(pg_db, summary)
    assert record.reconciled == summary.reconciled and record.finished_at is not None
    assert record.errors == [{"pass": "stopped", "error": "stopped between batches"}]


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_the_worker_count_is_a_whole_number_of_at_least_one(monkeypatch, value):
    monkeypatch.setenv("RECONCILER_WORKERS", value)
    with pytest.raises(ConfigError, match="RECONCILER_WORKERS"):
        Config()


def test_the_worker_count_comes_from_the_environment(monkeypatch):
    assert Config().RECONCILER_WORKERS == 3
    monkeypatch.setenv("RECONCILER_WORKERS", "1")
    assert Config().RECONCILER_WORKERS == 1
