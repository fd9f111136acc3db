"""Live updates: the stream socket, the push registry, the change relay and its worker.

``init_live(app)`` attaches the socket route and the template helpers; it starts no thread
and does no I/O, so it is safe in every ``create_app``. The relay thread (reads the change
feed) and the worker thread (renders pages, fires time-only transitions, drops stuck
sockets) start in the process that serves the first stream socket (once per process, also
after a fork), or explicitly with ``ensure_relay(app)``; ``LIVE_RELAY = False`` turns them
off. ``LIVE_MODE = "external"`` leaves the sockets to a separate live process (see
``gunicorn.conf.py``): this process then answers the stream route with 503.
"""

from app.live import deflate, timing
from app.live.assets import live_assets, live_status, static_status, transition_in_ms
from app.live.dispatch import Dispatcher
from app.live.registry import LiveRegistry
from app.live.state import EXTENSION, LiveState, ensure_relay, get_live, stop_relay

__all__ = ["DEFAULTS", "ensure_relay", "get_live", "init_live", "stop_relay"]

DEFAULTS = {
    "LIVE_STREAM_ROUTE": "/live/stream",
    "LIVE_RELAY": True,
    "LIVE_MODE": "embedded",
    "LIVE_HEARTBEAT_SECONDS": 2,
    "LIVE_FALLBACK_POLL_SECONDS": 30,
    "LIVE_POLL_INTERVAL": 0.1,
    "LIVE_NOTIFY_TIMEOUT": 1.0,
    "LIVE_RETENTION_SECONDS": 600,
    "LIVE_SEND_TIMEOUT_SECONDS": 5.0,
    "LIVE_MAX_CLIENTS": 1000,
    "LIVE_MAX_STREAMS_PER_SESSION": 20,
    "LIVE_MAX_INBOUND_BYTES": 1024,
    "LIVE_RENDER_THREADS": 2,
    "LIVE_WIDE_INTERVAL": 0.5,
    "LIVE_SHARED_DEFLATE": True,
}


def init_live(app):
    """Attach the stream route and template helpers to ``app`` (idempotent, no thread)."""
    if EXTENSION in app.extensions:
        return app.extensions[EXTENSION]
    from app.live.socket import stream_view

    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    timing.install()  # only with RUNWARDEN_LIVE_TIMING_LOG (a bench's debug log)
    if app.config["LIVE_SHARED_DEFLATE"]:
        deflate.install()
    registry = LiveRegistry()
    state = LiveState(registry, Dispatcher(app, registry))
    app.extensions[EXTENSION] = state
    app.add_url_rule(app.config["LIVE_STREAM_ROUTE"], "live_stream", stream_view, websocket=True)
    app.add_template_global(live_assets)
    app.add_template_global(live_status)
    app.add_template_global(static_status)
    app.add_template_global(transition_in_ms)
    return state
