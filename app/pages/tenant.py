"""The tenant dashboard: KPIs, needs attention, recent runs, 7-day summary, the overlay."""

from flask import abort, url_for

from app.operations import get_policy
from app.operations.dashboards import (
    attention_runs,
    overlay_runs,
    tenant_activity,
    type_summary,
)
from app.operations.queries import RunFilters, list_runs
from app.pages import Page, shared, stale_count
from app.pages.insights import ROLES as INSIGHT_ROLES
from app.presenter.dashboards import needs_attention, overlay, tenant_kpis, type_rows
from app.presenter.links import operations_url, stale_cta_url
from app.presenter.runs import run_views

TEMPLATE = "tenant/dashboard.html"
RECENT = 10


def tenant_or_404(scope, tenant_uuid):
    """The visible tenant with this uuid, or a 404 that says nothing more."""
    tenant = scope.tenant_by_uuid(tenant_uuid)
    if tenant is None:
        abort(404)
    return tenant


def overlay_for(scope, tenant, *, now, activity=None):
    """The active operations overlay of ``tenant`` at ``now``.

    A page that already counted the tenant's ``activity`` at ``now`` passes it, so its KPIs
    and its overlay speak of the same instant and the counts are read once.
    """
    policy = get_policy()
    runs = shared(
        scope,
        now,
        "overlay_runs",
        lambda: overlay_runs(scope, tenant.id, policy=policy, now=now),
        tenant.id,
    )
    if activity is None:
        activity = _activity(scope, tenant, policy, now)
    src = url_for("tenant.active_operations", tenant_uuid=tenant.uuid, _external=False)
    return overlay(tenant, runs, activity, policy=policy, now=now, src=src)


def _insights_url(scope, tenant):
    """The tenant's duration insights over the summary's 7 days, for those who may open them."""
    if scope.role not in INSIGHT_ROLES:
        return None
    return url_for("monitoring.insights", tenant_id=tenant.id, window="7d", _external=False)


def _activity(scope, tenant, policy, now):
    def read():
        return tenant_activity(scope, tenant.id, policy=policy, now=now)

    return shared(scope, now, "tenant_activity", read, tenant.id)


def build(scope, args, now):
    """The dashboard of the tenant ``args.view_args["tenant_uuid"]``; 404 if not visible."""
    tenant = tenant_or_404(scope, args.view_args["tenant_uuid"])
    policy = get_policy()
    activity = _activity(scope, tenant, policy, now)
    stale, follow_ups = attention_runs(scope, tenant.id, policy=policy, now=now)
    recent = list_runs(
        scope, policy=policy, now=now, filters=RunFilters(tenant_id=tenant.id), limit=RECENT
    ).runs
    context = {
        "tenant": tenant,
        "kpis": tenant_kpis(activity, tenant.id, policy.follow_up_window),
        "attention": needs_attention(stale, follow_ups, activity, tenant, policy=policy, now=now),
        "recent": run_views(recent, policy=policy, now=now, tenant=tenant),
        "types": type_rows(
            type_summary(scope, tenant.id, policy=policy, now=now), tenant.id, policy=policy
        ),
        "overlay": overlay_for(scope, tenant, now=now, activity=activity),
        "list_url": operations_url(tenant_id=tenant.id),
        "stale_url": stale_cta_url(tenant.id),
        "insights_url": _insights_url(scope, tenant),
        "stale_count": stale_count(scope, now),
    }
    return Page(TEMPLATE, context, now)
