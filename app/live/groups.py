"""Which live pages a change concerns, and which pages share one render.

A client is concerned by a change when its user's Scope may see the run's tenant in the
run's workspace and the page it watches shows that run. Clients with the same page and the
same visibility form a group, rendered once.
"""

from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from app.live.registry import (
    WATCH_LIST,
    WATCH_RECONCILER,
    WATCH_RUN,
    WATCH_TENANT,
    WATCH_WORKSPACE,
)
from app.models import RunChange

CATCH_UP_LIMIT = 500
RECENT_SECONDS = 5


def concerns(client, change):
    """Whether ``change`` (run_id, workspace_id, tenant_id) is on ``client``'s page for it."""
    scope, watch = client.scope, client.watch
    if scope is None or scope.workspace_id != change.workspace_id:
        return False
    if watch.workspace_id != change.workspace_id or not scope.can_see_tenant(change.tenant_id):
        return False
    if watch.kind == WATCH_TENANT:
        return change.tenant_id is not None and change.tenant_id == watch.tenant_id
    if watch.kind == WATCH_WORKSPACE:
        return True
    if watch.kind == WATCH_LIST:
        return watch.tenant_id is None or watch.tenant_id == change.tenant_id
    if watch.kind == WATCH_RUN:
        return watch.run_id == change.run_id
    return False


def visibility_key(scope):
    """Scopes that see the same runs render the same pages."""
    return (scope.workspace_id, scope.role, scope.tenant_ids)


def group_key(client):
    """Clients with the same page and the same visibility share renders and transitions."""
    return client.watch, visibility_key(client.scope)


# Pages about one run or one tenant go first: they are cheap and their readers wait for
# that one change; pages over the whole scope (overview, lists) follow.
_ORDER = {WATCH_RUN: 0, WATCH_TENANT: 1, WATCH_RECONCILER: 2, WATCH_LIST: 3, WATCH_WORKSPACE: 4}


def cheapest_first(members):
    """Sort key of a group (its members): cheap pages about one run or tenant first."""
    watch = members[0].watch
    return _ORDER.get(watch.kind, 5) - (0.5 if watch.tenant_id else 0)


def may_be_behind(client, since, now, margin_seconds=2.0):
    """Whether the page ``client`` shows (data as of ``since``) may be out of date at ``now``.

    A page older than a few seconds is rendered again whatever the feed says: time alone
    may have changed its freshness while it was away, and the feed keeps only
    ``LIVE_RETENTION_SECONDS`` of changes. A newer one is behind when the feed holds a
    change it is concerned by since shortly before ``since``.
    """
    if since is None or now - since > timedelta(seconds=RECENT_SECONDS):
        return True
    cutoff = since - timedelta(seconds=margin_seconds)
    query = sa.select(RunChange.run_id, RunChange.workspace_id, RunChange.tenant_id)
    rows = db.session.execute(query.where(RunChange.at >= cutoff).limit(CATCH_UP_LIMIT))
    rows = rows.all()
    return len(rows) >= CATCH_UP_LIMIT or any(concerns(client, row) for row in rows)
