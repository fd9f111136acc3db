"""From the page a socket was opened on to a Watch and the viewer's Scope.

The page's path is matched with the app's own URL map; a page the user may not open
answers None, exactly as the page itself would answer 404. Pages that are not live (the
workspace chooser, error pages) get a ``WATCH_PAGE`` watch: connection status only.
"""

from urllib.parse import parse_qsl, urlsplit

from flask import current_app, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from app.live.registry import (
    WATCH_LIST,
    WATCH_PAGE,
    WATCH_RECONCILER,
    WATCH_RUN,
    WATCH_TENANT,
    WATCH_WORKSPACE,
    Watch,
)
from app.operations import get_policy
from app.operations.clock import now as clock_now
from app.operations.queries import MAX_ROW_ID
from app.operations.reads import RunReads
from app.operations.visibility import scope_for_user

KINDS = {
    "workspace.overview": WATCH_WORKSPACE,
    "tenant.dashboard": WATCH_TENANT,
    "monitoring.operations": WATCH_LIST,
    "monitoring.run_detail": WATCH_RUN,
    "monitoring.reconciler": WATCH_RECONCILER,
}


def resolve_watch(user, page):
    """(Watch, Scope) for ``user`` on ``page`` (a path with optional query), or None.

    Called while serving the socket's handshake: the session's current workspace decides
    the Scope, as it does for the page itself.
    """
    from app.blueprints.context import current_workspace

    parts = urlsplit(page or "/")
    path = parts.path or "/"
    root = request.script_root
    if root and path.startswith(root):
        path = path[len(root) :] or "/"
    try:
        adapter = current_app.url_map.bind_to_environ(request.environ)
        endpoint, view_args = adapter.match(path, method="GET", websocket=False)
    except RequestRedirect:
        return None
    except HTTPException:
        return None
    page = parts.path + (f"?{parts.query}" if parts.query else "")
    workspace = current_workspace()
    scope = scope_for_user(user, workspace.id) if workspace is not None else None
    kind = KINDS.get(endpoint)
    if scope is None or kind is None:
        return Watch(WATCH_PAGE, scope.workspace_id if scope else None, page=page), scope
    args = tuple(parse_qsl(parts.query))
    watch = Watch(
        kind,
        scope.workspace_id,
        page=page,
        endpoint=endpoint,
        view_args=tuple(sorted(view_args.items())),
        args=args,
    )
    watch = _narrow(watch, scope, view_args, dict(args))
    return (watch, scope) if watch is not None else None


def _narrow(watch, scope, view_args, args):
    from dataclasses import replace

    if watch.kind == WATCH_TENANT:
        tenant = scope.tenant_by_uuid(view_args["tenant_uuid"])
        return replace(watch, tenant_id=tenant.id) if tenant is not None else None
    if watch.kind == WATCH_RUN:
        run_id = view_args["run_id"]
        reads = RunReads(scope, get_policy(), clock_now())
        run = reads.run(run_id) if 0 <= run_id <= MAX_ROW_ID else None
        return replace(watch, tenant_id=run.tenant_id, run_id=run.id) if run else None
    if watch.kind == WATCH_LIST and args.get("tenant_id"):
        raw = args["tenant_id"]
        tenant_id = int(raw) if raw.isascii() and raw.isdigit() else None
        if tenant_id is None or tenant_id > MAX_ROW_ID or scope.tenant_by_id(tenant_id) is None:
            return None
        return replace(watch, tenant_id=tenant_id)
    return watch
