"""The change feed: one row per change, written with the change, and (on PostgreSQL) one
wake-up per transaction, without a payload, delivered only when the change commits."""

import psycopg
import pytest
import sqlalchemy as sa

from app.models import RunChange
from app.operations.lifecycle import heartbeat
from app.operations.store import NOTIFY_CHANNEL, run_store
from tests.conftest import T0, require_postgres
from tests.factories import make_run, make_tenant, make_workspace


def _feed(db):
    return db.session.execute(
        sa.select(RunChange.run_id, RunChange.workspace_id, RunChange.tenant_id).order_by(
            RunChange.id
        )
    ).all()


def _runs(db):
    first, second = make_workspace("first"), make_workspace("second")
    tenant = make_tenant(first)
    runs = [
        make_run(first, tenant, now=T0),
        make_run(first, None, now=T0),
        make_run(second, None, now=T0),
    ]
    db.session.commit()
    return runs


def test_each_change_gets_one_feed_row(app, db):
    runs = _runs(db)

    run_store().record_changes(runs, T0)
    db.session.commit()

    assert _feed(db) == [(r.id, r.workspace_id, r.tenant_id) for r in runs]


def test_a_rolled_back_change_leaves_no_feed_row(app, db):
    runs = _runs(db)

    run_store().record_changes(runs[:1], T0)
    db.session.rollback()

    assert _feed(db) == []


@pytest.fixture
def listener():
    """A separate connection LISTENing on the channel; yields a function draining it."""
    url = require_postgres().replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"LISTEN {NOTIFY_CHANNEL}")

        def received():
            return [n.payload for n in conn.notifies(timeout=0.5, stop_after=10)]

        yield received


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_single_change_wakes_listeners_once_it_commits(app, db, listener, clock):
    run = _runs(db)[0]

    heartbeat(run, now=T0, actor="worker", processed=1)

    assert listener() == [""]  # a wake-up: the relay reads what changed from the feed
    assert _feed(db) == [(run.id, run.workspace_id, run.tenant_id)]


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_batch_wakes_listeners_once(app, db, listener):
    runs = _runs(db)

    run_store().record_changes(runs, T0)
    assert listener() == []  # nothing before the commit
    db.session.commit()

    assert listener() == [""]  # two workspaces, three runs: one wake-up
    assert _feed(db) == [(r.id, r.workspace_id, r.tenant_id) for r in runs]


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_rolled_back_change_wakes_nobody(app, db, listener):
    runs = _runs(db)

    run_store().record_changes(runs[:1], T0)
    db.session.rollback()

    assert listener() == []
