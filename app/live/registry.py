"""The push registry: which open sockets watch which page, and non-blocking delivery.

Every Client has a mailbox holding at most one page update (a newer render replaces an
older one: each is the whole live region, so nothing is lost) and one control message.
Only the socket's own thread writes to its socket, so a client that stops reading blocks
nobody but itself; ``abort()`` (used by the keeper for a send stuck too long) shuts the
socket down under it. The subclass of turbo-flask's ``Turbo`` keeps its push API.
"""

import itertools
import logging
import socket
import threading
import time
from dataclasses import dataclass

from markupsafe import Markup, escape
from simple_websocket import ConnectionClosed
from turbo_flask import Turbo

log = logging.getLogger(__name__)

WATCH_TENANT = "tenant"
WATCH_WORKSPACE = "workspace"
WATCH_RUN = "run"
WATCH_LIST = "list"
WATCH_RECONCILER = "reconciler"
WATCH_PAGE = "page"


@dataclass(frozen=True)
class Watch:
    """The page a socket is open on: what decides which changes concern it and how to build it.

    ``view_args`` and ``args`` are tuples of (name, value) pairs.
    """

    kind: str
    workspace_id: int | None = None
    tenant_id: int | None = None
    run_id: int | None = None
    page: str = ""
    endpoint: str | None = None
    view_args: tuple = ()
    args: tuple = ()


class Client:
    """One open socket of one signed-in session."""

    _ids = itertools.count(1)

    def __init__(self, ws, user_id, watch, scope, session_key=None):
        self.id = next(self._ids)
        self.ws = ws
        self.user_id = user_id
        self.watch = watch
        self.scope = scope
        self.session_key = session_key
        self.scope_checked_at = time.monotonic()
        self.send_started = None
        self.closing = None
        self._page = None
        self._count = None
        self._control = None
        self._ready = threading.Condition()

    def offer(self, stream):
        """Queue ``stream`` (a page update), replacing one not yet sent. Never blocks.
        A client told to end takes no new page (it may have been rendered before its
        user lost access was noticed)."""
        with self._ready:
            if self.closing is not None:
                return
            self._page, self._count = stream, None
            self._ready.notify()

    def offer_count(self, text):
        """Queue ``text`` (the page's likely stale count), replacing one not yet sent. A page
        offered later carries its own count, so it drops this one (``offer``)."""
        with self._ready:
            if self.closing is not None:
                return
            self._count = text
            self._ready.notify()

    def end(self, reason):
        """Ask the socket's thread to say ``reason`` to the page and close."""
        with self._ready:
            self.closing = reason
            self._ready.notify()

    def take(self, timeout):
        """The next message to send (page update first, then a count), or None after
        ``timeout`` seconds."""
        with self._ready:
            if self._page is None and self._count is None and self.closing is None:
                self._ready.wait(timeout)
            if self._page is not None:
                message, self._page = self._page, None
            else:
                message, self._count = self._count, None
            return message

    @property
    def pending(self):
        """Whether a page update is waiting to be sent."""
        with self._ready:
            return self._page is not None

    def send(self, text):
        """Send one message from the socket's own thread; False when the socket is gone."""
        self.send_started = time.monotonic()
        try:
            self.ws.send(text)
        except (ConnectionClosed, OSError):
            return False
        finally:
            self.send_started = None
        return True

    def stuck_for(self, now):
        """Seconds the current send has been blocked (0 when not sending)."""
        started = self.send_started
        return 0.0 if started is None else now - started

    def abort(self):
        """Shut the socket down under a blocked send (the socket's thread then ends)."""
        raw = getattr(self.ws, "sock", None)
        try:
            if raw is not None:
                raw.shutdown(socket.SHUT_RDWR)
        except OSError:
            log.debug("live: shutting down a socket failed", exc_info=True)
        self.end("dropped")

    def __repr__(self):
        return f"<Client {self.id} user={self.user_id} watch={self.watch.kind}>"


class LiveRegistry(Turbo):
    """Thread-safe registry of stream sockets, keyed by user and the page they watch."""

    def __init__(self):
        self.user_id_callback = self.default_user_id
        self.sock = None
        self._lock = threading.Lock()
        self._clients = {}

    def init_app(self, app):
        """Nothing to attach: the socket route lives in ``app.live.socket``."""

    def connect(self, ws, user_id, watch, scope, session_key=None):
        """Register a socket; returns its Client."""
        client = Client(ws, user_id, watch, scope, session_key)
        with self._lock:
            self._clients[client.id] = client
        return client

    def disconnect(self, client):
        """Forget ``client`` (a no-op if it is already gone)."""
        with self._lock:
            self._clients.pop(client.id, None)

    def snapshot(self):
        """The connected clients at this instant (safe to iterate without the lock)."""
        with self._lock:
            return tuple(self._clients.values())

    def admit(self, user_id, watch, scope, session_key, *, per_session, total):
        """Register a socket-to-be if the caps allow, in one step under the lock (so parallel
        handshakes cannot pass a cap together): (Client, None), or (None, "session" | "full").
        The caller attaches ``client.ws`` after the handshake."""
        with self._lock:
            if len(self._clients) >= total:
                return None, "full"
            mine = sum(1 for c in self._clients.values() if c.session_key == session_key)
            if mine >= per_session:
                return None, "session"
            client = Client(None, user_id, watch, scope, session_key)
            self._clients[client.id] = client
        return client, None

    def __len__(self):
        with self._lock:
            return len(self._clients)

    @property
    def clients(self):
        """Turbo's view: ``{user_id: [ws, ...]}`` (a copy)."""
        result = {}
        for client in self.snapshot():
            result.setdefault(client.user_id, []).append(client.ws)
        return result

    def send(self, clients, stream):
        """Queue ``stream`` for each of ``clients`` (never blocks). Returns how many."""
        stream = _join(stream)
        for client in clients:
            client.offer(stream)
        return len(clients)

    def push(self, stream, to=None):
        """Turbo's API: queue for every client (``to`` None) or for the given user id(s)."""
        clients = self.snapshot()
        if to is not None:
            users = {to} if isinstance(to, str | int) else set(to)
            clients = [c for c in clients if c.user_id in users]
        return self.send(clients, stream)

    def _make_stream(self, action, content, target, multiple):
        attribute = "targets" if multiple else "target"
        return Markup(
            f'<turbo-stream action="{escape(action)}" {attribute}="{escape(target)}">'
            f"<template>{content}</template></turbo-stream>"
        )

    def turbo(self, version=None, url=None):
        """Never the CDN: the app serves turbo.js and its own client script."""
        from app.live.assets import live_assets

        return live_assets()


def _join(stream):
    if isinstance(stream, str):
        return str(stream)
    return "".join(str(part) for part in stream)
