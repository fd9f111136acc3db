"""Client fixtures: the real app served over HTTP (threaded Werkzeug) with a token.

The client is its own distribution (clients/python); its source is put on the path here
so the suite needs no second install.
"""

import sys
import threading
import time
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db as _db
from app.operations.tokens import create_token
from config import TestConfig
from tests.conftest import _truncate_all, database_url
from tests.factories import make_tenant, make_workspace

CLIENT_SRC = Path(__file__).resolve().parents[2] / "clients" / "python" / "src"
if str(CLIENT_SRC) not in sys.path:
    sys.path.insert(0, str(CLIENT_SRC))


def served_url(backend, tmp_path):
    """A database the server threads can share: a SQLite file (not the in-memory one)."""
    return f"sqlite:///{tmp_path / 'client.db'}" if backend == "sqlite" else database_url(backend)


@pytest.fixture
def app(backend, clock, tmp_path):
    """The app on a database shared by the test and the server's threads."""
    application = create_app(TestConfig(served_url(backend, tmp_path)), clock=clock)
    with application.app_context():
        if backend == "postgres":
            _truncate_all()
        _db.create_all()
        yield application
        _db.session.remove()
        if backend == "postgres":
            _truncate_all()
        _db.engine.dispose()


@pytest.fixture
def server(app):
    """``app`` on 127.0.0.1 on a free port; yields its base URL."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(timeout=10)
    httpd.server_close()


@pytest.fixture
def workspace(db):
    return make_workspace(slug="acme")


@pytest.fixture
def tenant(workspace):
    return make_tenant(workspace, slug="contoso", name="Contoso")


@pytest.fixture
def token(workspace, tenant, clock):
    """A worker token's secret for ``workspace``."""
    return create_token(workspace, "worker-1", now=clock.now()).secret


def stored(run_id):
    """The run as the database holds it now (fresh from the database)."""
    from app.models import OperationRun

    _db.session.rollback()
    _db.session.expire_all()
    return _db.session.get(OperationRun, run_id)


def wait_for(predicate, timeout=20):
    """Poll ``predicate`` (a background thread is doing the work) until true or timeout."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False
