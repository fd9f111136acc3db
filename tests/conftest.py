"""Fixtures: app (SQLite, and PostgreSQL when TEST_DATABASE_URL is set), db, clock, login."""

import contextlib
import os
from datetime import datetime

import pytest
import sqlalchemy as sa
from flask import has_app_context

from app import create_app
from app.extensions import db as _db
from app.models import RunEvent
from app.operations.buckets import bucket_of
from app.operations.clock import FrozenClock
from config import TestConfig

T0 = datetime(2026, 11, 26, 12, 0, 0)
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")
REQUIRE_ALL = os.environ.get("RUNWARDEN_REQUIRE_ALL_TESTS") == "1"

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


def require_postgres():
    """Skip (or fail, when every part is required) without TEST_DATABASE_URL."""
    if POSTGRES_URL:
        return POSTGRES_URL
    if REQUIRE_ALL:
        pytest.fail("TEST_DATABASE_URL is required: PostgreSQL tests must not be skipped")
    pytest.skip("TEST_DATABASE_URL not set")


def database_url(backend):
    """The URL for ``backend``."""
    return require_postgres() if backend == "postgres" else "sqlite://"


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Each test using ``app`` runs on SQLite and on PostgreSQL."""
    return request.param


@pytest.fixture
def clock():
    """A frozen clock at T0; tests move it."""
    return FrozenClock(T0)


@pytest.fixture
def app(backend, clock):
    """An app with an empty schema on ``backend``."""
    application = create_app(TestConfig(database_url(backend)), clock=clock)
    with application.app_context():
        if backend == "postgres":
            _truncate_all()
        _db.create_all()
        yield application
        _db.session.remove()
        if backend == "postgres":
            _truncate_all()
        else:
            _db.drop_all()
        _db.engine.dispose()


_fresh_schema = []


def _truncate_all():
    if not _fresh_schema:  # once per test process: tables of an older schema are dropped
        _db.drop_all()
        _fresh_schema.append(True)
    _db.create_all()
    tables = ", ".join(f'"{t.name}"' for t in _db.metadata.sorted_tables)
    with _db.engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def sqlite_app():
    """An app on an empty in-memory SQLite schema, for what is SQLite's alone (its plans,
    its text index), whatever the backend parameter."""
    application = create_app(TestConfig("sqlite://"), clock=FrozenClock(T0))
    with application.app_context():
        _db.create_all()
        yield application
        _db.session.remove()
        _db.drop_all()
        _db.engine.dispose()


@pytest.fixture
def db(app):
    """The SQLAlchemy extension, inside the app context."""
    return _db


@pytest.fixture
def policy(app):
    """The app's lifecycle policy."""
    return app.extensions["runwarden.policy"]


def login(client, user):
    """Sign ``user`` in on ``client`` without the form: a real server-side session (started
    at the app clock's now, committed) and its ``sid`` in the cookie session."""
    from flask import current_app

    from app.operations.clock import now
    from app.operations.sessions import start_session

    app = client.application
    with contextlib.ExitStack() as stack:
        if not (has_app_context() and current_app._get_current_object() is app):
            stack.enter_context(app.app_context())
        sid = start_session(user, now())
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["_fresh"] = True
        session["sid"] = sid
    return client


@contextlib.contextmanager
def counted(db):
    statements = []

    def count(*args):
        statements.append(args[2])

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)


def iso(value):
    return value.isoformat(timespec="microseconds") + "Z"


def kinds(db, run_id):
    return [e.kind for e in db.session.query(RunEvent).filter_by(run_id=run_id).order_by("id")]


def same_bucket_or_next(estimate, exact):
    """Whether ``estimate`` is within one histogram bucket of ``exact`` (what an estimate
    from the insights' histograms may be off by)."""
    return abs(bucket_of(estimate) - bucket_of(exact)) <= 1
