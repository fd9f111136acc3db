"""One app's live machinery in this process, and the start and stop of its threads."""

import os
import threading
from dataclasses import dataclass, field

from flask import current_app

from app.live.dispatch import Dispatcher
from app.live.registry import LiveRegistry
from app.live.relay import Relay
from app.live.timer import LiveWorker

EXTENSION = "runwarden.live"
READY_TIMEOUT = 3.0


@dataclass
class LiveState:
    """The live machinery of one app in one process."""

    registry: LiveRegistry
    dispatcher: Dispatcher
    relay: Relay | None = None
    worker: LiveWorker | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def get_live(app=None):
    """The LiveState of ``app`` (or the current app)."""
    return (app or current_app).extensions[EXTENSION]


def ensure_relay(app):
    """Start this process's relay (and live worker) unless running; returns the relay.

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
        if state.worker is None or not state.worker.alive:
            timeout = app.config["LIVE_SEND_TIMEOUT_SECONDS"]
            state.worker = LiveWorker(app, state.dispatcher, send_timeout=timeout).start()
        return state.relay


def stop_relay(app):
    """Stop this process's relay (tests, clean shutdown)."""
    state = get_live(app)
    with state.lock:
        relay, state.relay = state.relay, None
        worker, state.worker = state.worker, None
    for thread in (relay, worker):
        if thread is not None:
            thread.stop()
