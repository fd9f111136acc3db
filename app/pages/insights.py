"""The insights page: per operation type, what history says about its windows.

Owners and operators, each over the runs of their scope (a viewer gets 404, as for any
page they may not open). Not live: the figures are as of the page's time, which the page
says, with a link that reads them again.
"""

from flask import abort

from app.operations import get_policy
from app.operations.insight_report import parse_window, type_insights
from app.operations.insights import Window
from app.operations.suggestions import MIN_RUNS, RULE, toml_snippet
from app.pages import Page, reads_for
from app.pages.facts import stale_count
from app.presenter.formatting import time_view
from app.presenter.insights import type_views

TEMPLATE = "monitoring/insights.html"
ROLES = ("owner", "operator")
WINDOWS = (7, 30, 90)


def _tenant_id(scope, text):
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        abort(400, description="tenant_id must be a tenant's number")
    tenant_id = int(text)
    if not scope.can_see_tenant(tenant_id) or not scope.tenant_rows(ids=[tenant_id]):
        abort(404)
    return tenant_id


def _window(scope, args, now, policy):
    try:
        days = parse_window(args.get("window") or "30d")
    except ValueError as exc:
        abort(400, description=str(exc))
    type_name = args.get("type") or None
    if type_name is not None and not policy.knows(type_name):
        abort(400, description="type must be a configured operation type")
    return Window(scope, now, days, _tenant_id(scope, args.get("tenant_id")), type_name)


def build(scope, args, now):
    """The insights of ``scope`` at ``now`` over the window the query asks for."""
    if scope.role not in ROLES:
        abort(404)
    policy = get_policy()
    window = _window(scope, args.args, now, policy)
    insights = type_insights(window, policy)
    context = {
        "window": window,
        "windows": sorted({*WINDOWS, window.days}),
        "tenants": scope.tenant_rows(),
        "type_names": policy.names(),
        "types": type_views(insights, window.days),
        "toml": toml_snippet([(t.op_type.name, t.suggestions) for t in insights]),
        "rule": RULE,
        "min_runs": MIN_RUNS,
        "as_of": time_view(now, now),
        "since": time_view(window.since, now),
        "refresh_url": args.path,
        "stale_count": stale_count(reads_for(scope, now)),
    }
    return Page(TEMPLATE, context, now)
