"""The tenant dashboard: KPIs, needs attention, recent runs, 7-day summary, the overlay."""

from flask import abort, url_for

from app.operations.queries import RunFilters
from app.pages import Page, reads_for, shared, stale_count
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


def overlay_for(reads, tenant, *, activity=None):
    """The active operations overlay of ``tenant``, read with ``reads``.

    A page that already counted the tenant's ``activity`` with the same ``reads`` passes
    it, so its KPIs and its overlay speak of the same instant and the counts are read once.
    """
    scope, now = reads.scope, reads.now
    runs = shared(scope, now, "overlay_runs", lambda: reads.overlay(tenant.id), tenant.id)
    if activity is None:
        activity = _activity(reads, tenant)
    src = url_for("tenant.active_operations", tenant_uuid=tenant.uuid, _external=False)
    return overlay(tenant, runs, activity, policy=reads.policy, now=reads.now, src=src)


def _insights_url(scope, tenant):
    """The tenant's duration insights over the summary's 7 days, for those who may open them."""
    if scope.role not in INSIGHT_ROLES:
        return None
    return url_for("monitoring.insights", tenant_id=tenant.id, window="7d", _external=False)


def _activity(reads, tenant):
    def read():
        return reads.tenant_activity(tenant.id)

    return shared(reads.scope, reads.now, "tenant_activity", read, tenant.id)


def build(scope, args, now):
    """The dashboard of the tenant ``args.view_args["tenant_uuid"]``; 404 if not visible."""
    tenant = tenant_or_404(scope, args.view_args["tenant_uuid"])
    reads = reads_for(scope, now)
    policy = reads.policy
    activity = _activity(reads, tenant)
    stale, follow_ups = reads.attention(tenant.id)
    recent = reads.page(filters=RunFilters(tenant_id=tenant.id), limit=RECENT).runs
    context = {
        "tenant": tenant,
        "kpis": tenant_kpis(activity, tenant.id, policy.follow_up_window),
        "attention": needs_attention(stale, follow_ups, activity, tenant, policy=policy, now=now),
        "recent": run_views(recent, policy=policy, now=now),
        "types": type_rows(reads.type_summary(tenant.id), tenant.id, policy=policy),
        "overlay": overlay_for(reads, tenant, activity=activity),
        "list_url": operations_url(tenant_id=tenant.id),
        "stale_url": stale_cta_url(tenant.id),
        "insights_url": _insights_url(scope, tenant),
        "stale_count": stale_count(reads),
    }
    return Page(TEMPLATE, context, now)
