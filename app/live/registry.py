"""The push registry: which open sockets watch which page, and safe delivery to them.

turbo-flask's ``Turbo`` keeps ``{user_id: [ws]}`` in a plain dict mutated from socket
threads and raises KeyError for absent ids. This subclass keeps one ``Client`` per socket
(who it is, what page it watches, what it may see) behind a lock, iterates over snapshots,
escapes stream targets and never loads turbo.js from a CDN.
"""

import itertools
import threading
import time
from dataclasses import dataclass

from markupsafe import Markup, escape
from simple_websocket import ConnectionClosed
from turbo_flask import Turbo

WATCH_TENANT = "tenant"
WATCH_WORKSPACE = "workspace"
WATCH_RUN = "run"
WATCH_LIST = "list"
WATCH_PAGE = "page"


@dataclass(frozen=True)
class Watch:
    """The page a socket is open on, reduced to what decides which changes concern it."""

    kind: str
    workspace_id: int | None = None
    tenant_id: int | None = None
    run_id: int | None = None
    page: str = ""


class Client:
    """One open socket of one signed-in user."""

    _ids = itertools.count(1)

    def __init__(self, ws, user_id, watch, scope):
        self.id = next(self._ids)
        self.ws = ws
        self.user_id = user_id
        self.watch = watch
        self.scope = scope
        self.scope_checked_at = time.monotonic()
        self._send_lock = threading.Lock()

    def send(self, text):
        """Send one message; False when the socket is gone. Sends never interleave."""
        with self._send_lock:
            try:
                self.ws.send(text)
            except (ConnectionClosed, OSError):
                return False
        return True

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

    # -- membership -------------------------------------------------------------------

    def connect(self, ws, user_id, watch, scope):
        """Register a socket; returns its Client."""
        client = Client(ws, user_id, watch, scope)
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

    # -- delivery ---------------------------------------------------------------------

    def send(self, clients, stream):
        """Send ``stream`` to each of ``clients``; dead sockets are dropped. Returns deliveries."""
        stream = _join(stream)
        delivered = 0
        for client in clients:
            if client.send(stream):
                delivered += 1
            else:
                self.disconnect(client)
        return delivered

    def push(self, stream, to=None):
        """Turbo's API: push to every client (``to`` None) or to the given user id(s).

        Unknown user ids are ignored instead of raising KeyError.
        """
        clients = self.snapshot()
        if to is not None:
            users = {to} if isinstance(to, str | int) else set(to)
            clients = [c for c in clients if c.user_id in users]
        return self.send(clients, stream)

    def can_push(self, to=None):
        """Whether a push to ``to`` (None: anyone) would reach at least one socket."""
        clients = self.snapshot()
        if to is None:
            return bool(clients)
        return any(client.user_id == to for client in clients)

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
