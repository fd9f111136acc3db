"""Workspace overview and the workspace chooser."""

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.blueprints.context import current_scope, current_workspace, memberships, select_workspace
from app.blueprints.workspace import bp
from app.operations.clock import now
from app.pages import PageArgs, overview, render_page


@bp.get("/admin", endpoint="overview")
@login_required
def overview_page():
    """Tenant cards, workspace totals and the ten most recent visible runs."""
    args = PageArgs.of(request.view_args, request.args, request.full_path.rstrip("?"))
    return render_page(overview.build(current_scope(), args, now()))


@bp.get("/admin/workspaces")
@login_required
def workspaces():
    """The user's workspaces, with the current one marked."""
    current = current_workspace()
    return render_template(
        "workspace/workspaces.html",
        rows=memberships(),
        current_id=current.id if current else None,
        user=current_user,
    )


@bp.post("/admin/workspaces/<int:workspace_id>/select")
@login_required
def select(workspace_id):
    """Switch the current workspace (members only; anything else is 404)."""
    if not select_workspace(workspace_id):
        abort(404)
    return redirect(url_for("workspace.overview"), code=303)
