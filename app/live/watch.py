"""From the page a socket was opened on to a Watch and the user's Scope.

The page path has the shapes of SPEC section 3; anything a user may not open answers None,
exactly as the page itself would answer 404.
"""

import re
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa

from app.extensions import db
from app.live.registry import (
    WATCH_LIST,
    WATCH_PAGE,
    WATCH_RUN,
    WATCH_TENANT,
    WATCH_WORKSPACE,
    Watch,
)
from app.models import OperationRun, Tenant
from app.operations.visibility import scope_for_user

TENANT_PATH = re.compile(r"^/admin/t/(?P<uuid>[^/]+)(?:/.*)?$")
RUN_PATH = re.compile(r"^/admin/operations/(?P<run_id>\d+)/?$")
LIST_PATH = re.compile(r"^/admin/operations/?$")
WORKSPACE_PATH = re.compile(r"^/admin/?$")


def resolve_watch(user, page):
    """(Watch, Scope) for ``user`` on ``page`` (a path with optional query), or None.

    ``user`` must be the signed-in user of the current request (the overview and the list
    use the session's current workspace).
    """
    parts = urlsplit(page or "/")
    path = parts.path or "/"
    query = parse_qs(parts.query)
    page = path + (f"?{parts.query}" if parts.query else "")
    if match := TENANT_PATH.match(path):
        return _tenant_watch(user, match["uuid"], page)
    if match := RUN_PATH.match(path):
        return _run_watch(user, int(match["run_id"]), page)
    scope = _current_scope(user)
    if scope is None:
        return Watch(WATCH_PAGE, page=page), None
    if LIST_PATH.match(path):
        tenant_id = _int(query.get("tenant_id", [None])[0])
        if tenant_id is not None and scope.tenant_by_id(tenant_id) is None:
            return None
        return Watch(WATCH_LIST, scope.workspace_id, tenant_id, page=page), scope
    if WORKSPACE_PATH.match(path):
        return Watch(WATCH_WORKSPACE, scope.workspace_id, page=page), scope
    return Watch(WATCH_PAGE, scope.workspace_id, page=page), scope


def refresh_scope(client):
    """Re-read what ``client``'s user may see now; None when no longer a member."""
    from app.models import User

    if client.scope is None:
        return None
    user = db.session.get(User, client.user_id)
    if user is None or not user.is_active:
        return None
    return scope_for_user(user, client.scope.workspace_id)


def _tenant_watch(user, tenant_uuid, page):
    tenant = db.session.scalar(sa.select(Tenant).where(Tenant.uuid == tenant_uuid))
    if tenant is None:
        return None
    scope = scope_for_user(user, tenant.workspace_id)
    if scope is None or not scope.can_see_tenant(tenant.id):
        return None
    return Watch(WATCH_TENANT, tenant.workspace_id, tenant.id, page=page), scope


def _run_watch(user, run_id, page):
    workspace_id = db.session.scalar(
        sa.select(OperationRun.workspace_id).where(OperationRun.id == run_id)
    )
    scope = scope_for_user(user, workspace_id) if workspace_id is not None else None
    run = scope.run(run_id) if scope is not None else None
    if run is None:
        return None
    return Watch(WATCH_RUN, workspace_id, run.tenant_id, run.id, page=page), scope


def _current_scope(user):
    from app.blueprints.context import current_workspace

    workspace = current_workspace()
    return scope_for_user(user, workspace.id) if workspace is not None else None


def _int(value):
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
