"""Fixtures for live updates: fake sockets, a dispatcher harness, an app for relay threads."""

import re
import socket
import threading
import time

import pytest
import sqlalchemy as sa
from flask_login import login_user
from simple_websocket import Client, ConnectionClosed
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db as _db
from app.live import stop_relay
from app.live.dispatch import Dispatcher
from app.live.feed import Change
from app.live.registry import LiveRegistry
from app.live.watch import resolve_watch
from app.operations.lifecycle import create_run
from app.operations.visibility import scope_for_user
from config import TestConfig
from tests.conftest import login, require_postgres
from tests.factories import make_member, make_tenant, make_user, make_workspace
from tests.web.conftest import world  # noqa: F401 - the operator pages' world, shared
from tests.web.html import parse


class FakeSocket:
    """Records what is sent; ``close()`` makes later sends fail like a dropped socket."""

    sock = None

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


class _StuckRaw:
    """The OS socket under a BlockingSocket: ``shutdown`` breaks the blocked send."""

    def __init__(self, owner):
        self.owner = owner
        self.shut = False

    def shutdown(self, how):
        self.shut = True
        self.owner.release.set()


class BlockingSocket(FakeSocket):
    """A peer that stopped reading: ``send`` blocks until ``release`` is set (or the keeper
    shuts the socket down, which makes the blocked send fail)."""

    def __init__(self):
        super().__init__()
        self.release = threading.Event()
        self.entered = threading.Event()
        self.sock = _StuckRaw(self)

    def send(self, text):
        self.entered.set()
        self.release.wait(30)
        if self.sock.shut:
            raise OSError("socket shut down")
        super().send(text)


def connect_ws(url, cookie=None, timeout=10, attempts=3):
    """A WebSocket client whose handshake gives up after ``timeout`` seconds.

    simple_websocket's client reads on a thread of its own that may already have closed
    the socket (seen as 1005 at the server, right after the first message) before the
    test gets it; such a client is closed and, once the server has had time to let its
    place go (a test may allow one socket per process), opened again, at most
    ``attempts`` times in all.
    """
    headers = {"Cookie": f"session={cookie}"} if cookie else {}
    for attempt in range(attempts):
        previous = socket.getdefaulttimeout()
        socket.setdefaulttimeout(timeout)
        try:
            client = Client.connect(url, headers=headers)
        finally:
            socket.setdefaulttimeout(previous)
        try:
            client.sock.settimeout(None)
        except OSError:
            if attempt == attempts - 1:
                raise
            client.sock.close()
            time.sleep(0.5)
            continue
        return client


def run_ids(markup):
    """Run ids carried by ``data-run-id`` hooks anywhere in ``markup`` (str or parsed)."""
    root = parse(str(markup)) if not hasattr(markup, "find_all") else markup
    return {int(node.attrs["data-run-id"]) for node in root.find_all("data-run-id")}


def watch_for(app, user, page):
    """(Watch, Scope) of ``user`` on ``page``, resolved as the socket's handshake does."""
    with app.test_request_context("/"):
        login_user(user)
        return resolve_watch(user, page)


class Harness:
    """A registry and a dispatcher driven by hand: ``changed`` submits and processes.

    Wide pages render on every change here (``wide_interval`` 0) unless a test asks for
    the production pacing."""

    def __init__(self, app, scope_ttl=60.0, wide_interval=0):
        self.app = app
        app.config["LIVE_WIDE_INTERVAL"] = wide_interval
        self.registry = LiveRegistry()
        self.dispatcher = Dispatcher(app, self.registry, scope_ttl=scope_ttl)

    def open(self, user, page, ws=None, session_key=None):
        """Register a socket of ``user`` on ``page`` (resolved like the handshake)."""
        watch, scope = watch_for(self.app, user, page)
        return self.registry.connect(ws or FakeSocket(), user.id, watch, scope, session_key)

    def attach(self, user, workspace, watch, ws=None, session_key=None):
        """Register a socket of ``user`` on an explicit ``watch`` (no URL resolution)."""
        scope = scope_for_user(user, workspace.id)
        return self.registry.connect(ws or FakeSocket(), user.id, watch, scope, session_key)

    def changed(self, *runs, as_of=None):
        """The relay read ``runs``' changes; process them. Returns pages queued."""
        changes = [Change(n, r.id, r.workspace_id, r.tenant_id) for n, r in enumerate(runs, 1)]
        self.dispatcher.submit(changes, as_of)
        return self.dispatcher.process()


def received(client):
    """The page update waiting in ``client``'s mailbox (taken), or None."""
    return client.take(0)


@pytest.fixture
def harness(app):
    return Harness(app)


@pytest.fixture
def renders(monkeypatch):
    """Every (watch, scope) the dispatcher renders a page for, in order."""
    from app.live import dispatch

    calls = []
    real = dispatch.render

    def recording(watch, scope, now, as_of=None):
        calls.append((watch, scope))
        return real(watch, scope, now, as_of=as_of)

    monkeypatch.setattr(dispatch, "render", recording)
    return calls


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


@pytest.fixture
def served(relay_app):
    """``relay_app`` served by a threaded Werkzeug server (real relay, worker and renders)."""
    relay_app.config.update(LIVE_HEARTBEAT_SECONDS=0.2, LIVE_POLL_INTERVAL=0.05)
    server = make_server("127.0.0.1", 0, relay_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield relay_app, f"ws://127.0.0.1:{server.server_port}"
    server.shutdown()
    stop_relay(relay_app)


def _cookie(app, user):
    client = login(app.test_client(), user)
    with client.session_transaction() as session:
        sid = session["sid"]
    return client.get_cookie("session").value, sid


def _world(clock):
    ws = make_workspace()
    a, b = make_tenant(ws), make_tenant(ws)
    owner, op_a = make_user(), make_user()
    make_member(owner, ws, "owner")
    make_member(op_a, ws, "operator", tenants=[a])
    return ws, a, b, owner, op_a


def _new_run(ws, tenant, clock):
    return create_run(
        workspace_id=ws.id, tenant_id=tenant.id, type="baseline_compare", now=clock.now(), actor="w"
    )


STREAM = re.compile(
    r'^<turbo-stream action="replace" method="morph" target="page-content">'
    r"<template>(.*)</template></turbo-stream>$",
    re.S,
)


def fragment_of(stream):
    """The #page-content markup a stream morphs the page into."""
    found = STREAM.match(str(stream))
    assert found, f"not a morphing replace of #page-content: {str(stream)[:120]}"
    return found.group(1)


def page_content(document):
    """The route's own #page-content element, as markup."""
    start = document.index('<div id="page-content"')
    return document[start : document.index("</main>", start)].strip()
