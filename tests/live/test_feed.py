"""The change feed returns every committed row once, even when ids commit out of order."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db as _db
from app.live.feed import ChangeFeed
from app.models import RunChange
from app.operations.lifecycle import create_run, heartbeat, start_run
from tests.conftest import T0
from tests.factories import make_tenant, make_workspace


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self):
        self.value = 0.0

    def __call__(self):
        return self.value


def _insert(conn, run_id, at=T0, change_id=None):
    values = {"run_id": run_id, "workspace_id": 1, "tenant_id": None, "at": at}
    if change_id is not None:
        values["id"] = change_id
    return conn.execute(sa.insert(RunChange).values(**values).returning(RunChange.id)).scalar()


def test_lifecycle_changes_are_read_once_in_order(app, db, clock):
    ws = make_workspace()
    tenant = make_tenant(ws)
    feed = ChangeFeed(db.engine)
    feed.start_at_tail()
    run = create_run(
        workspace_id=ws.id, tenant_id=tenant.id, type="baseline_compare", now=T0, actor="w"
    )
    run = start_run(run, now=clock.advance(1), actor="w")
    heartbeat(run, now=clock.advance(1), actor="w", processed=3)

    changes = feed.read()

    assert [c.run_id for c in changes] == [run.id] * 3
    assert changes[0].workspace_id == ws.id and changes[0].tenant_id == tenant.id
    assert [c.id for c in changes] == sorted(c.id for c in changes)
    assert feed.read() == []


def test_history_before_the_start_is_skipped(app, db):
    with db.engine.begin() as conn:
        _insert(conn, 1)
    feed = ChangeFeed(db.engine)
    feed.start_at_tail()
    with db.engine.begin() as conn:
        new_id = _insert(conn, 2)
    assert [c.id for c in feed.read()] == [new_id]


def test_a_row_committed_after_a_larger_id_is_not_skipped(app, db):
    ticks = Ticks()
    feed = ChangeFeed(db.engine, gap_timeout=10, monotonic=ticks)
    feed.start_at_tail()
    with db.engine.begin() as conn:
        _insert(conn, 1, change_id=1)
        _insert(conn, 3, change_id=3)
    assert [c.run_id for c in feed.read()] == [1, 3]
    assert feed.missing == [2]
    assert feed.cursor == 1

    ticks.value = 5
    with db.engine.begin() as conn:
        _insert(conn, 2, change_id=2)
    assert [c.run_id for c in feed.read()] == [2]
    assert feed.missing == [] and feed.cursor == 3
    assert feed.read() == []


def test_a_gap_that_never_fills_is_given_up_after_the_timeout(app, db):
    ticks = Ticks()
    feed = ChangeFeed(db.engine, gap_timeout=10, monotonic=ticks)
    feed.start_at_tail()
    with db.engine.begin() as conn:
        _insert(conn, 1, change_id=1)
        _insert(conn, 4, change_id=4)
    feed.read()
    assert feed.missing == [2, 3]

    ticks.value = 10
    feed.read()
    assert feed.missing == [2, 3]
    ticks.value = 10.5
    assert feed.read() == []
    assert feed.missing == [] and feed.cursor == 4


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_postgres_out_of_order_commit_is_delivered(app, db):
    feed = ChangeFeed(db.engine)
    feed.start_at_tail()
    slow = db.engine.connect()
    slow_tx = slow.begin()
    first = _insert(slow, 1)
    with db.engine.begin() as conn:
        second = _insert(conn, 2)
    assert second > first

    assert [c.id for c in feed.read()] == [second]
    slow_tx.commit()
    slow.close()
    assert [c.id for c in feed.read()] == [first]


def test_prune_removes_only_settled_old_rows(app, db):
    feed = ChangeFeed(db.engine, monotonic=Ticks())
    feed.start_at_tail()
    with db.engine.begin() as conn:
        _insert(conn, 1, at=T0 - timedelta(hours=1), change_id=1)
        _insert(conn, 2, at=T0, change_id=2)
        _insert(conn, 3, at=T0 - timedelta(hours=1), change_id=4)
    feed.read()
    assert feed.cursor == 2

    assert feed.prune(T0 - timedelta(minutes=10)) == 1
    left = _db.session.scalars(sa.select(RunChange.id).order_by(RunChange.id)).all()
    assert left == [2, 4]
