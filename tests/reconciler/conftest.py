"""Reconciler fixtures: runs built field by field, bulk stale runs, PostgreSQL-only apps."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from app import create_app
from app.extensions import db as _db
from app.models import OperationRun, RunChange, RunEvent
from config import TestConfig
from tests.conftest import _truncate_all, require_postgres
from tests.factories import make_workspace

MIN = timedelta(minutes=1)


@pytest.fixture
def workspace(db):
    return make_workspace(slug="acme")


def add_run(workspace, **fields):
    """Insert one run with exactly ``fields`` (plus workspace and defaults); commit."""
    values = dict(workspace_id=workspace.id, type="baseline_compare", outcome="pending")
    values.update(fields)
    run = OperationRun(**values)
    _db.session.add(run)
    _db.session.commit()
    return run


def add_stale_runs(workspace_id, count, at, type="report_export"):
    """``count`` running runs started at ``at`` (report_export: no heartbeat rule), in bulk."""
    rows = [
        dict(
            workspace_id=workspace_id,
            type=type,
            status="running",
            outcome="pending",
            created_at=at - timedelta(seconds=5),
            started_at=at,
        )
        for _ in range(count)
    ]
    _db.session.execute(sa.insert(OperationRun), rows)
    _db.session.commit()


def events(kind, run_id=None):
    """Events of ``kind`` (of one run, or all)."""
    query = sa.select(RunEvent).where(RunEvent.kind == kind)
    if run_id is not None:
        query = query.where(RunEvent.run_id == run_id)
    return _db.session.scalars(query.order_by(RunEvent.id)).all()


def reconciled_event_counts():
    """{run_id: number of ``reconciled`` events}."""
    rows = _db.session.execute(
        sa.select(RunEvent.run_id, sa.func.count())
        .where(RunEvent.kind == "reconciled")
        .group_by(RunEvent.run_id)
    )
    return dict(rows.all())


def change_count():
    return _db.session.scalar(sa.select(sa.func.count()).select_from(RunChange))


def reload(run):
    return _db.session.get(OperationRun, run.id, populate_existing=True)


@pytest.fixture
def pg_app(clock):
    """An app on PostgreSQL only (races need real connections), with an empty schema."""
    application = create_app(TestConfig(require_postgres()), clock=clock)
    with application.app_context():
        _truncate_all()
        yield application
        _db.session.remove()
        _truncate_all()
        _db.engine.dispose()


@pytest.fixture
def pg_db(pg_app):
    return _db


@pytest.fixture
def side_engine(pg_app):
    """A separate engine for the 'other process' in a race (its own connections)."""
    engine = sa.create_engine(_db.engine.url, poolclass=NullPool)
    yield engine
    engine.dispose()
