"""Live updates: the stream socket, the push registry and the per-process change relay.

``init_live(app)`` attaches the socket route and the template helpers; it starts no thread
and does no I/O, so it is safe in every ``create_app``. The relay thread starts in the
process that serves the first stream socket (once per process, also after a fork), or
explicitly with ``ensure_relay(app)``; ``LIVE_RELAY = False`` turns it off.
"""

import os
import threading
from dataclasses import dataclass, field

from flask import current_app

from app.live.assets import live_assets, live_status, transition_in_ms
from app.live.dispatch import Dispatcher
from app.live.registry import LiveRegistry
from app.live.relay import Relay
from app.live.timer import TransitionThread

EXTENSION = "runwarden.live"
READY_TIMEOUT = 3.0
DEFAULTS = {
    "LIVE_STREAM_ROUTE": "/live/stream",
    "LIVE_RELAY": True,
    "LIVE_HEARTBEAT_SECONDS": 10,
    "LIVE_FALLBACK_POLL_SECONDS": 30,
    "LIVE_POLL_INTERVAL": 0.1,
    "LIVE_NOTIFY_TIMEOUT": 2.0,
    "LIVE_RETENTION_SECONDS": 600,
}


@dataclass
class LiveState:
    """The live machinery of one app in one process."""

    registry: LiveRegistry
    dispatcher: Dispatcher
    relay: Relay | None = None
    transitions: TransitionThread | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def init_live(app, render=None, plan=None):
    """Attach the stream route and template helpers to ``app`` (idempotent, no thread).

    ``render(watch, scope, runs)`` returns the Turbo Stream markup for one group of
    clients and ``plan(watch, scope, now)`` the next time-only transition of its page;
    the defaults use the page partials (``app.live.fragments``).
    """
    if EXTENSION in app.extensions:
        return app.extensions[EXTENSION]
    from app.live import fragments
    from app.live.socket import stream_view

    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    registry = LiveRegistry()
    if render is None:
        render, plan = fragments.render, plan or fragments.plan
    state = LiveState(registry, Dispatcher(app, registry, render, plan))
    app.extensions[EXTENSION] = state
    app.add_url_rule(app.config["LIVE_STREAM_ROUTE"], "live_stream", stream_view, websocket=True)
    app.add_template_global(live_assets)
    app.add_template_global(live_status)
    app.add_template_global(transition_in_ms)
    return state


def get_live(app=None):
    """The LiveState of ``app`` (or the current app)."""
    return (app or current_app).extensions[EXTENSION]


def ensure_relay(app):
    """Start this process's relay (and transition timer) unless running; returns the relay.

    None when ``LIVE_RELAY`` is off.
    """
    if not app.config.get("LIVE_RELAY", True):
        return None
    state = get_live(app)
    with state.lock:
        relay = state.relay
        if relay is not None and relay.pid == os.getpid() and relay.alive:
            return relay
        state.relay = Relay(
            app,
            state.dispatcher,
            poll_interval=app.config["LIVE_POLL_INTERVAL"],
            notify_timeout=app.config["LIVE_NOTIFY_TIMEOUT"],
            retention_seconds=app.config["LIVE_RETENTION_SECONDS"],
        ).start()
        state.relay.wait_ready(READY_TIMEOUT)
        if state.transitions is None or not state.transitions.alive:
            state.transitions = TransitionThread(app, state.dispatcher).start()
        return state.relay


def stop_relay(app):
    """Stop this process's relay (tests, clean shutdown)."""
    state = get_live(app)
    with state.lock:
        relay, state.relay = state.relay, None
        transitions, state.transitions = state.transitions, None
    for thread in (relay, transitions):
        if thread is not None:
            thread.stop()
