"""Keeping open pages honest: stuck sockets dropped, lost access and ended sessions noticed.

The keeper thread (``LiveWorker``) calls ``keep`` about once a second. A socket stuck in a
send for over the send timeout is shut down. Entitlements and sessions are re-read for every
open page at once, as soon as the oldest check is ``scope_ttl`` old: two statements for the
scopes (``scopes_of_members``) and one for the sessions (``live_sessions``, plus one write
when a session's activity is due), however many pages, users and sessions are open; not a
few statements per user and per session at every tick. So every page is re-checked at least
every ``scope_ttl`` plus one tick, and a page whose user lost access or signed out is told
why and closed then.
"""

import logging
import time

from app.extensions import db
from app.operations.clock import get_clock
from app.operations.sessions import live_sessions
from app.operations.visibility import scopes_of_members

log = logging.getLogger(__name__)
REVOKED = "revoked You are signed out or no longer have access to this page."


def refresh(app, clients, scope_ttl):
    """Re-read what every open client's user may see and whether its session is live,
    once any check is ``scope_ttl`` seconds old; end the sockets of those who lost access.
    Returns the kept clients (``app`` context and database session: the caller's)."""
    checked_at = time.monotonic()
    clients = [client for client in clients if not client.closing]
    checked = [client for client in clients if client.scope is not None]
    if not any(checked_at - client.scope_checked_at >= scope_ttl for client in checked):
        return clients
    scopes = scopes_of_members({(c.user_id, c.scope.workspace_id) for c in checked})
    alive = live_sessions({(c.session_key, c.user_id) for c in checked}, get_clock(app).now())
    kept = []
    for client in clients:
        if client.scope is not None:
            scope = scopes.get((client.user_id, client.scope.workspace_id))
            if scope is None or (client.session_key, client.user_id) not in alive:
                client.end(REVOKED)
                continue
            client.scope, client.scope_checked_at = scope, checked_at
        kept.append(client)
    return kept


def keep(app, clients, send_timeout, scope_ttl):
    """Drop sockets stuck in a send for over ``send_timeout`` s; re-check entitlements."""
    checked_at = time.monotonic()
    for client in clients:
        if client.stuck_for(checked_at) > send_timeout:
            log.info("live: dropping a client that stopped reading (%s)", client)
            client.abort()
    if any(c.scope is not None and checked_at - c.scope_checked_at >= scope_ttl for c in clients):
        with app.app_context():
            try:
                refresh(app, clients, scope_ttl)
            finally:
                db.session.remove()
