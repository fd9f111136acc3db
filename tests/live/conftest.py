"""Fixtures for live updates: fake sockets, a recording renderer, an app for relay threads."""

import socket
import threading

import pytest
import sqlalchemy as sa
from simple_websocket import Client, ConnectionClosed

from app import create_app
from app.extensions import db as _db
from app.live.registry import Watch
from config import TestConfig
from tests.conftest import require_postgres


class FakeSocket:
    """Records what is sent; ``close()`` makes later sends fail like a dropped socket."""

    def __init__(self):
        self.sent = []
        self.closed = False
        self._lock = threading.Lock()

    def send(self, text):
        if self.closed:
            raise ConnectionClosed(1006, "gone")
        with self._lock:
            self.sent.append(text)

    def close(self, reason=None, message=None):
        self.closed = True


class RecordingRender:
    """A render callback that names the watch and the runs it was given."""

    def __init__(self):
        self.calls = []
        self._lock = threading.Lock()

    def __call__(self, watch, scope, runs):
        ids = ",".join(str(run.id) for run in runs)
        with self._lock:
            self.calls.append((watch, scope, [run.id for run in runs]))
        return f'<turbo-stream action="replace" target="{watch.kind}" data-runs="{ids}">'


def connect_ws(url, cookie=None, timeout=10):
    """A WebSocket client whose handshake gives up after ``timeout`` seconds."""
    headers = {"Cookie": f"session={cookie}"} if cookie else {}
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        client = Client.connect(url, headers=headers)
    finally:
        socket.setdefaulttimeout(previous)
    client.sock.settimeout(None)
    return client


def runs_in(messages):
    """Run ids named by RecordingRender streams in ``messages``."""
    found = set()
    for message in messages:
        marker = 'data-runs="'
        if marker in message:
            ids = message.split(marker, 1)[1].split('"', 1)[0]
            found.update(int(i) for i in ids.split(",") if i)
    return found


@pytest.fixture
def render():
    return RecordingRender()


@pytest.fixture
def watch():
    """Build a Watch: ``watch("tenant", ws_id, tenant_id)``."""
    return lambda kind, workspace_id=None, tenant_id=None, run_id=None, page="": Watch(
        kind, workspace_id, tenant_id, run_id, page
    )


@pytest.fixture
def relay_app(backend, tmp_path, clock):
    """An app on a database that other threads can share: a SQLite file or PostgreSQL."""
    if backend == "postgres":
        url = require_postgres()
    else:
        url = f"sqlite:///{tmp_path / 'live.db'}"
    application = create_app(TestConfig(url), clock=clock)
    with application.app_context():
        _reset(backend)
        yield application
        _db.session.remove()
        _reset(backend)
        _db.engine.dispose()


def _reset(backend):
    _db.create_all()
    if backend == "postgres":
        tables = ", ".join(f'"{t.name}"' for t in _db.metadata.sorted_tables)
        with _db.engine.begin() as conn:
            conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
