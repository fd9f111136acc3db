"""Leader election and the scheduling step, with the fake clock (no sleeping)."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.models import ReconcilerLease, ReconcilerPass
from reconciler.lease import AdvisoryLease, RowLease, make_lease
from reconciler.loop import ReconcilerService
from tests.conftest import T0
from tests.reconciler.conftest import add_stale_runs

TTL = 5
TICK = timedelta(microseconds=1)


def _row(db):
    db.session.expire_all()
    return db.session.get(ReconcilerLease, "reconciler")


def test_a_row_lease_has_one_holder_until_it_expires(app, db, clock):
    a, b = RowLease(db.engine, "a", TTL), RowLease(db.engine, "b", TTL)
    assert a.acquire(T0) and not b.acquire(T0)
    assert a.acquire(T0 + timedelta(seconds=4)) and not b.acquire(T0 + timedelta(seconds=4))
    expires = T0 + timedelta(seconds=4 + TTL)
    assert (_row(db).holder, _row(db).acquired_at, _row(db).expires_at) == ("a", T0, expires)
    # ``a`` stops renewing (its process died): ``b`` takes over right after the expiry.
    assert not b.acquire(expires)
    assert b.acquire(expires + TICK)
    assert (_row(db).holder, _row(db).acquired_at) == ("b", expires + TICK)
    assert not a.acquire(expires + 2 * TICK)
    assert not a.held(expires + 2 * TICK)


def test_a_released_row_lease_is_taken_over_at_once(app, db):
    a, b = RowLease(db.engine, "a", TTL), RowLease(db.engine, "b", TTL)
    assert a.acquire(T0)
    a.release(T0)
    assert _row(db).expires_at < T0
    assert b.acquire(T0)


def test_make_lease_uses_the_advisory_lock_on_postgresql(app, db, backend):
    lease = make_lease(db.engine, "a", TTL)
    try:
        assert isinstance(lease, AdvisoryLease if backend == "postgres" else RowLease)
    finally:
        lease.release(T0)


@pytest.mark.postgres
def test_the_advisory_lease_passes_to_another_process_when_the_holder_dies(pg_app, pg_db):
    a = AdvisoryLease(pg_db.engine, "a", TTL)
    b = AdvisoryLease(pg_db.engine, "b", TTL)
    try:
        assert a.acquire(T0) and not b.acquire(T0)
        assert _row(pg_db).holder == "a"
        # The holder's connection dies with its process: the lock goes with it.
        with pg_db.engine.connect() as conn:
            conn.execute(sa.select(sa.func.pg_terminate_backend(a.backend_pid)))
        assert b.acquire(T0 + TICK)
        assert _row(pg_db).holder == "b"
        assert not a.acquire(T0 + 2 * TICK)
        b.release(T0 + 3 * TICK)
        assert a.acquire(T0 + 4 * TICK)
    finally:
        a.release(T0)
        b.release(T0)


@pytest.fixture
def services(app, db, clock):
    app.config["RECONCILER_INTERVAL_SECONDS"] = 30
    app.config["RECONCILER_LEASE_SECONDS"] = TTL
    created = [ReconcilerService(app, "test"), ReconcilerService(app, "test")]
    yield created
    for service in created:
        service.stop()


def _die(service, db, clock):
    """The holder's process dies: its connection closes (PostgreSQL), its lease expires."""
    if isinstance(service.lease, AdvisoryLease):
        with db.engine.connect() as conn:
            pid = service.lease.backend_pid
            conn.execute(sa.select(sa.func.pg_terminate_backend(pid)))
    else:
        clock.advance(TTL + 1)
    service._stop.set()


def test_only_the_holder_runs_passes_once_per_interval(app, db, clock, services):
    a, b = services
    first = a.tick()
    assert first is not None and first.outcome == "finished"
    assert b.tick() is None
    clock.advance(29)
    assert a.tick() is None and b.tick() is None
    clock.advance(1)
    assert a.tick() is not None
    holders = db.session.scalars(sa.select(ReconcilerPass.holder).distinct()).all()
    assert holders == [a.holder]


def test_the_other_scheduler_takes_over_when_the_holder_dies(app, db, clock, services, workspace):
    a, b = services
    assert a.tick() is not None
    add_stale_runs(workspace.id, 3, clock.now())
    _die(a, db, clock)
    clock.advance(2 * 60 * 60)
    summary = b.tick()
    assert summary is not None and summary.reconciled == 3
    assert _row(db).holder == b.holder
    passes = db.session.scalars(sa.select(ReconcilerPass).order_by(ReconcilerPass.id)).all()
    assert [p.holder for p in passes] == [a.holder, b.holder]


def test_a_new_holder_keeps_the_cadence_of_the_recorded_passes(app, db, clock, services):
    a, b = services
    assert a.tick() is not None
    a.stop()
    clock.advance(10)
    assert b.tick() is None  # holds the lease now, but the next pass is due at +30 s only
    assert _row(db).holder == b.holder
    clock.advance(20)
    assert b.tick() is not None


def test_stop_releases_the_lease(app, db, clock, services):
    a, b = services
    assert a.tick() is not None
    a.stop()
    assert _row(db).expires_at < clock.now()
    assert a.tick() is None
    clock.advance(30)
    assert b.tick() is not None
