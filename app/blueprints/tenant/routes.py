"""Tenant dashboard and its active operations overlay."""

from flask import render_template
from flask_login import login_required

from app.blueprints.context import current_scope, overlay_for, tenant_or_404
from app.blueprints.tenant import bp
from app.operations import get_policy
from app.operations.clock import now
from app.operations.dashboards import attention_runs, tenant_activity, type_summary
from app.operations.queries import RunFilters, list_runs
from app.presenter.dashboards import needs_attention, tenant_kpis, type_rows
from app.presenter.links import operations_url, stale_cta_url
from app.presenter.runs import run_views


@bp.get("/admin/t/<tenant_uuid>")
@login_required
def dashboard(tenant_uuid):
    """KPIs, needs attention, recent runs, the 7-day summary and the overlay."""
    scope = current_scope()
    tenant = tenant_or_404(scope, tenant_uuid)
    policy, at = get_policy(), now()
    activity = tenant_activity(scope, tenant.id, policy=policy, now=at)
    stale, follow_ups = attention_runs(scope, tenant.id, policy=policy, now=at)
    recent = list_runs(
        scope, policy=policy, now=at, filters=RunFilters(tenant_id=tenant.id), limit=10
    ).runs
    return render_template(
        "tenant/dashboard.html",
        tenant=tenant,
        kpis=tenant_kpis(activity, tenant.id, policy.follow_up_window),
        attention=needs_attention(stale, follow_ups, activity, tenant, policy=policy, now=at),
        recent=run_views(recent, policy=policy, now=at, tenant=tenant),
        types=type_rows(
            type_summary(scope, tenant.id, policy=policy, now=at), tenant.id, policy=policy
        ),
        overlay=overlay_for(scope, tenant, at=at, activity=activity),
        list_url=operations_url(tenant_id=tenant.id),
        stale_url=stale_cta_url(tenant.id),
    )


@bp.get("/admin/t/<tenant_uuid>/active-operations")
@login_required
def active_operations(tenant_uuid):
    """The overlay's turbo-frame alone, for polling (and later for pushes)."""
    scope = current_scope()
    tenant = tenant_or_404(scope, tenant_uuid)
    return render_template(
        "partials/active_operations.html", overlay=overlay_for(scope, tenant), frame_only=True
    )
