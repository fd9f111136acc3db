"""The tenant dashboard: KPIs, needs attention, recent runs, 7-day summary, the overlay."""

from flask import abort, url_for

from app.operations.queries import RunFilters
from app.pages import Page, reads_for, shared_by_tenant
from app.pages.facts import run_views, stale_count, tenant_activity, tenant_by_uuid
from app.pages.insights import ROLES as INSIGHT_ROLES
from app.presenter.dashboards import needs_attention, overlay, tenant_kpis, type_rows
from app.presenter.links import operations_url, stale_cta_url

TEMPLATE = "tenant/dashboard.html"
RECENT = 10
SUMMARY_DAYS = 7  # the type summary counts the runs created in the last 7 days


def tenant_or_404(scope, tenant_uuid):
    """The visible tenant with this uuid, or a 404 that says nothing more."""
    tenant = tenant_by_uuid(scope, tenant_uuid)
    if tenant is None:
        abort(404)
    return tenant


def overlay_for(reads, tenant, *, activity=None):
    """The active operations overlay of ``tenant``, read with ``reads``.

    A page that already counted the tenant's ``activity`` with the same ``reads`` passes
    it, so its KPIs and its overlay speak of the same instant and the counts are read once.
    """
    scope, now = reads.scope, reads.now
    runs = shared_by_tenant(scope, now, "overlay_runs", lambda: reads.overlay(tenant.id), tenant.id)
    if activity is None:
        activity = tenant_activity(reads, tenant.id)
    src = url_for("tenant.active_operations", tenant_uuid=tenant.uuid, _external=False)
    return overlay(tenant, runs, activity, policy=reads.policy, now=reads.now, src=src)


def _insights_url(scope, tenant):
    """The tenant's duration insights over the summary's 7 days, for those who may open them."""
    if scope.role not in INSIGHT_ROLES:
        return None
    return url_for("monitoring.insights", tenant_id=tenant.id, window="7d", _external=False)


def _of_tenant(reads, tenant, name, read):
    """``read(tenant.id)``, shared in a sweep by every viewer who may see the tenant."""
    return shared_by_tenant(reads.scope, reads.now, name, lambda: read(tenant.id), tenant.id)


def _recent_of(reads):
    def recent(tenant_id):
        runs = reads.page(filters=RunFilters(tenant_id=tenant_id), limit=RECENT).runs
        return run_views(runs, policy=reads.policy, now=reads.now)

    return recent


def _summary_of(reads):
    return lambda tenant_id: reads.type_summary(tenant_id, days=SUMMARY_DAYS)


def build(scope, args, now):
    """The dashboard of the tenant ``args.view_args["tenant_uuid"]``; 404 if not visible."""
    tenant = tenant_or_404(scope, args.view_args["tenant_uuid"])
    reads = reads_for(scope, now)
    policy = reads.policy
    activity = tenant_activity(reads, tenant.id)
    stale, follow_ups = _of_tenant(reads, tenant, "attention", reads.attention)
    recent = _of_tenant(reads, tenant, "recent_views", _recent_of(reads))
    summary = _of_tenant(reads, tenant, "type_summary", _summary_of(reads))
    context = {
        "tenant": tenant,
        "kpis": tenant_kpis(activity, tenant.id, policy.follow_up_window),
        "attention": needs_attention(stale, follow_ups, activity, tenant, policy=policy, now=now),
        "recent": recent,
        "types": type_rows(summary, tenant.id, policy=policy),
        "overlay": overlay_for(reads, tenant, activity=activity),
        "list_url": operations_url(tenant_id=tenant.id),
        "stale_url": stale_cta_url(tenant.id),
        "insights_url": _insights_url(scope, tenant),
        "stale_count": stale_count(reads),
    }
    return Page(TEMPLATE, context, now)
