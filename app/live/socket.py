"""The stream socket: authenticated by the session cookie, registered with what it watches.

The route refuses before the WebSocket handshake: 401 without a signed-in user, 403 for a
foreign Origin, 404 for a page the user may not open. While open, the server sends
``ping`` every ``LIVE_HEARTBEAT_SECONDS`` when its relay is healthy (``stale`` when it is
not), so the page can tell "live" from "connection lost". After a Turbo Drive
navigation the page opens a new socket, so the session is checked again for every page.
``since`` (the page's render time) lets the socket catch up on changes made meanwhile.
"""

import logging
from datetime import datetime
from urllib.parse import urlsplit

from flask import Response, current_app, request
from flask_login import current_user
from simple_websocket import ConnectionClosed, Server

from app.extensions import db
from app.live.watch import resolve_watch

log = logging.getLogger(__name__)
HEARTBEAT = "ping"
DEGRADED = "stale"


def stream_view():
    """GET (WebSocket upgrade) on ``LIVE_STREAM_ROUTE``."""
    from app.live import ensure_relay, get_live

    if not current_user.is_authenticated:
        return Response("sign in first", status=401, mimetype="text/plain")
    if not _same_origin():
        return Response("cross-origin stream refused", status=403, mimetype="text/plain")
    user_id = current_user.id
    resolved = resolve_watch(current_user, request.args.get("page", "/"))
    db.session.remove()
    if resolved is None:
        return Response("not found", status=404, mimetype="text/plain")
    live = get_live()
    relay = ensure_relay(current_app._get_current_object())
    ws = Server(request.environ, **current_app.config.get("SOCK_SERVER_OPTIONS", {}))
    client = live.registry.connect(ws, user_id, *resolved)
    try:
        client.send(_state(relay))
        live.dispatcher.catch_up(client, _since(request.args.get("since")))
        _serve(ws, client, relay)
    except ConnectionClosed:
        pass
    finally:
        live.registry.disconnect(client)
        try:
            ws.close()
        except Exception:
            pass
    return _WebSocketResponse(ws)


def _serve(ws, client, relay):
    interval = current_app.config["LIVE_HEARTBEAT_SECONDS"]
    while True:
        if ws.receive(timeout=interval) is None and not client.send(_state(relay)):
            return


def _state(relay):
    return HEARTBEAT if relay is not None and relay.healthy() else DEGRADED


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
