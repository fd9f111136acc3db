"""Workspace overview and the workspace chooser."""

from flask import abort, redirect, render_template, url_for
from flask_login import current_user, login_required

from app.blueprints.context import (
    current_scope,
    current_workspace,
    memberships,
    select_workspace,
    visible_tenants,
)
from app.blueprints.workspace import bp
from app.operations import get_policy
from app.operations.clock import now
from app.operations.dashboards import Activity, activity_by_tenant
from app.operations.queries import list_runs
from app.operations.reconciler_status import reconciler_status
from app.presenter.dashboards import summary_of, tenant_card, workspace_totals
from app.presenter.runs import run_views


@bp.get("/admin")
@login_required
def overview():
    """Tenant cards, workspace totals and the ten most recent visible runs."""
    scope = current_scope()
    policy, at = get_policy(), now()
    activity = activity_by_tenant(scope, policy=policy, now=at)
    tenants = visible_tenants(scope)
    cards = [tenant_card(t, activity.get(t.id, Activity())) for t in tenants]
    recent = list_runs(scope, policy=policy, now=at, limit=10).runs
    workspace_level = activity.get(None)
    reconciler = reconciler_status(at) if scope.role == "owner" else None
    return render_template(
        "workspace/overview.html",
        workspace=current_workspace(),
        cards=cards,
        totals=workspace_totals(sum(activity.values(), Activity()), policy.follow_up_window),
        workspace_level=summary_of(workspace_level) if workspace_level else None,
        recent=run_views(recent, policy=policy, now=at, tenants={t.id: t for t in tenants}),
        reconciler_warning=reconciler.message if reconciler and reconciler.looks_stale else None,
    )


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
