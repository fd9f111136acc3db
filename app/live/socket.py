"""The stream socket: authenticated by the session cookie, registered with what it watches.

The route refuses before the WebSocket handshake: 401 without a signed-in user, 403 for a
foreign Origin, 404 for a page the user may not open, 429 past the per-session cap of open
streams, 503 when this process is full or leaves streams to the live process. While open,
only this socket's thread writes to it: page updates from its mailbox as they come, and
between them every ``LIVE_HEARTBEAT_SECONDS`` either ``current <ms>`` (every change the
relay had read that long ago is on this page) or ``stale`` (the relay is not reading).
A socket that sends more than a small message, or many of them, is closed.
"""

import logging
from datetime import datetime
from urllib.parse import urlsplit

from flask import Response, current_app, request, session
from flask_login import current_user
from simple_websocket import ConnectionClosed, Server

from app.extensions import db
from app.live import timing
from app.live.state import ensure_relay, get_live
from app.live.watch import resolve_watch
from app.operations.clock import get_clock

log = logging.getLogger(__name__)
DEGRADED = "stale"
INBOUND_PER_BEAT = 20


def stream_view():
    """GET (WebSocket upgrade) on ``LIVE_STREAM_ROUTE``."""
    config = current_app.config
    refusal = _refusal()
    if refusal is not None:
        return refusal
    live = get_live()
    user_id = current_user.id
    resolved = resolve_watch(current_user, request.args.get("page", "/"))
    db.session.remove()
    if resolved is None:
        return _text("not found", 404)
    client, refusal = _admit(live, user_id, resolved)
    if refusal is not None:
        return refusal
    try:
        relay = ensure_relay(current_app._get_current_object())
        ws = client.ws = Server(request.environ, max_message_size=config["LIVE_MAX_INBOUND_BYTES"])
    except BaseException:
        live.registry.disconnect(client)
        raise
    try:
        client.send(_state(live, relay, client))
        live.dispatcher.catch_up(client, _since(request.args.get("since")))
        _serve(ws, client, live, relay)
    except ConnectionClosed:
        pass
    finally:
        live.registry.disconnect(client)
        try:
            ws.close()
        except Exception:
            log.debug("live: closing a socket failed", exc_info=True)
    return _WebSocketResponse(ws)


def _admit(live, user_id, resolved):
    """(client, None) for a socket within its session's and this process's caps, else
    (None, the refusal)."""
    config = current_app.config
    client, refused = live.registry.admit(
        user_id,
        *resolved,
        session.get("sid"),
        per_session=config["LIVE_MAX_STREAMS_PER_SESSION"],
        total=config["LIVE_MAX_CLIENTS"],
    )
    if refused == "session":
        return None, _text("too many open live pages in this session; close some", 429)
    if refused == "full":
        return None, _text("live updates are at capacity; retry shortly", 503, retry=5)
    return client, None


def _refusal():
    if current_app.config["LIVE_MODE"] == "external":
        return _text("live updates are served by the live process", 503, retry=5)
    if not current_user.is_authenticated:
        return _text("sign in first", 401)
    if not _same_origin():
        return _text("cross-origin stream refused", 403)
    return None


def _serve(ws, client, live, relay):
    interval = current_app.config["LIVE_HEARTBEAT_SECONDS"]
    while ws.connected:
        message = client.take(interval)
        if _flooded(ws):
            ws.close(reason=1008, message="too many messages")
            return
        if message is None and client.closing:
            client.send(client.closing)
            ws.close(reason=1008, message="closed by the server")
            return
        if not client.send(message or _state(live, relay, client)):
            return
        if message and timing.enabled():
            timing.sent(client, message)


def _flooded(ws):
    received = 0
    while ws.receive(timeout=0) is not None:
        received += 1
        if received > INBOUND_PER_BEAT:
            return True
    return False


def _state(live, relay, client):
    as_of = live.dispatcher.as_of_for(client)
    if relay is None or not relay.healthy() or as_of is None:
        return DEGRADED
    age = (get_clock(current_app).now() - as_of).total_seconds()
    return f"current {max(0, round(age * 1000))}"


def _since(value):
    try:
        return datetime.fromisoformat(value.removesuffix("Z")) if value else None
    except ValueError:
        return None


def _same_origin():
    origin = request.headers.get("Origin")
    if not origin:
        return True
    return urlsplit(origin).netloc == request.host


def _text(message, status, retry=None):
    response = Response(message, status=status, mimetype="text/plain")
    if retry is not None:
        response.headers["Retry-After"] = str(retry)
    return response


class _WebSocketResponse(Response):
    """Tell each server that the socket has been handled (as flask-sock does)."""

    def __init__(self, ws):
        super().__init__()
        self.ws = ws

    def __call__(self, *args, **kwargs):
        if self.ws.mode == "gunicorn":
            raise StopIteration()
        if self.ws.mode == "werkzeug":
            return super().__call__(*args, **kwargs)
        return []
