"""The workspace overview: tenant cards, totals, workspace-level runs, the recent runs."""

from app.extensions import db
from app.models import Workspace
from app.notifications.status import failing_warning
from app.operations.reads import Activity
from app.operations.reconciler_status import reconciler_status
from app.pages import Page, reads_for
from app.pages.facts import activity_by_tenant, last_reported, run_views, tenant_rows
from app.presenter.dashboards import summary_of, workspace_totals
from app.presenter.overview import tenant_card, tenant_listing
from app.presenter.reconciler import stale_warning

TEMPLATE = "workspace/overview.html"
RECENT = 10


def build(scope, args, now):
    """The overview of ``scope``'s workspace at ``now``; ``args.args`` may ask for a name
    filter (``q``), problems only (``problems=1``) and the compact table (``view=table``)."""
    reads = reads_for(scope, now)
    policy = reads.policy
    activity = activity_by_tenant(reads)
    tenants = tenant_rows(scope)
    reported = last_reported(reads, [t.id for t in tenants])
    cards = [
        tenant_card(t, activity.get(t.id, Activity()), reported.get(t.id), now) for t in tenants
    ]
    recent = reads.page(limit=RECENT).runs
    workspace_level = activity.get(None)
    reconciler = reconciler_status(now) if scope.role == "owner" else None
    total = sum(activity.values(), Activity())
    context = {
        "workspace": db.session.get(Workspace, scope.workspace_id),
        "listing": tenant_listing(cards, args.args, policy.follow_up_window),
        "wall_tenants": sorted(cards, key=lambda card: (card.name.casefold(), card.uuid)),
        "totals": workspace_totals(total, policy.follow_up_window),
        "workspace_level": summary_of(workspace_level) if workspace_level else None,
        "recent": run_views(recent, policy=policy, now=now),
        "reconciler_warning": stale_warning(reconciler),
        "notifications_warning": failing_warning(scope.workspace_id) if reconciler else None,
        "stale_count": str(total.likely_stale),
    }
    return Page(TEMPLATE, context, now)
