"""Helpers shared by the operator pages: the current workspace and scope, 404 lookups."""

from flask import abort, redirect, request, session, url_for
from flask_login import current_user

from app.operations import get_policy
from app.operations.clock import now
from app.operations.dashboards import overlay_runs, tenant_activity
from app.operations.queries import MAX_ROW_ID
from app.operations.visibility import scope_for_member, workspaces_for_user
from app.presenter.dashboards import overlay

WORKSPACE_KEY = "workspace_id"
# Per-request memo in the WSGI environ: ``g`` lives in the app context, which an app context
# held open across requests (tests, scripts) would share between users.
_MEMBERSHIPS = "runwarden.memberships"
_WORKSPACE = "runwarden.workspace"


def loaded_workspace():
    """The current workspace if this request already looked it up, else None (no query)."""
    return request.environ.get(_WORKSPACE)


def loaded_memberships():
    """The memberships if this request already loaded them, else () (no query)."""
    return request.environ.get(_MEMBERSHIPS) or ()


def memberships():
    """(Workspace, role) pairs of the signed-in user, loaded once per request."""
    if _MEMBERSHIPS not in request.environ:
        request.environ[_MEMBERSHIPS] = workspaces_for_user(current_user)
    return request.environ[_MEMBERSHIPS]


def select_workspace(workspace_id):
    """Make ``workspace_id`` current; False when the user is not a member."""
    if workspace_id not in {ws.id for ws, _ in memberships()}:
        return False
    session[WORKSPACE_KEY] = workspace_id
    return True


def current_workspace():
    """The current Workspace, or None while the user still has to choose (or has none)."""
    if _WORKSPACE in request.environ:
        return request.environ[_WORKSPACE]
    found = {ws.id: ws for ws, _ in memberships()}
    chosen = session.get(WORKSPACE_KEY)
    if chosen not in found and len(found) == 1:
        chosen = next(iter(found))
        session[WORKSPACE_KEY] = chosen
    request.environ[_WORKSPACE] = found.get(chosen)
    return request.environ[_WORKSPACE]


def current_scope():
    """The user's Scope in the current workspace; sends them to choose one when needed."""
    workspace = current_workspace()
    if workspace is None:
        abort(redirect(url_for("workspace.workspaces")))
    # The role comes with this request's memberships: no second look-up.
    role = next(role for ws, role in memberships() if ws.id == workspace.id)
    return scope_for_member(current_user.id, workspace.id, role)


def tenant_or_404(scope, tenant_uuid):
    """The visible tenant with this uuid, or a 404 that says nothing more."""
    tenant = scope.tenant_by_uuid(tenant_uuid)
    if tenant is None:
        abort(404)
    return tenant


def tenant_id_or_404(scope, tenant_id):
    """The visible tenant with this id (from a query string), or 404."""
    tenant = scope.tenant_by_id(tenant_id) if 0 <= tenant_id <= MAX_ROW_ID else None
    if tenant is None:
        abort(404)
    return tenant


def run_or_404(scope, run_id):
    """The visible run with its tenant loaded, or 404."""
    run = scope.run(run_id, with_tenant=True) if 0 <= run_id <= MAX_ROW_ID else None
    if run is None:
        abort(404)
    return run


def visible_tenants(scope):
    """Visible tenants by name (plain rows: ``id``, ``uuid``, ``slug``, ``name``, ...)."""
    return scope.tenant_rows()


def overlay_for(scope, tenant, *, at=None, activity=None):
    """The active operations overlay of ``tenant`` at ``at`` (the app clock's now).

    A page that already counted the tenant's ``activity`` at ``at`` passes both, so its
    KPIs and its overlay speak of the same instant and the counts are read once.
    """
    policy = get_policy()
    at = at or now()
    runs = overlay_runs(scope, tenant.id, policy=policy, now=at)
    if activity is None:
        activity = tenant_activity(scope, tenant.id, policy=policy, now=at)
    src = url_for("tenant.active_operations", tenant_uuid=tenant.uuid)
    return overlay(tenant, runs, activity, policy=policy, now=at, src=src)
