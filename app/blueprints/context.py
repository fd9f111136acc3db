"""Helpers shared by the operator pages: the current workspace and the viewer's scope."""

from flask import abort, redirect, request, session, url_for
from flask_login import current_user

from app.operations.visibility import scope_for_member, workspaces_for_user

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
