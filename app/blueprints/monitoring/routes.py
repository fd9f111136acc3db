"""The canonical operations list and run detail."""

from flask import abort, render_template, request
from flask_login import login_required

from app.blueprints.context import (
    current_scope,
    overlay_for,
    run_or_404,
    tenant_id_or_404,
    visible_tenants,
)
from app.blueprints.monitoring import bp
from app.operations import get_policy
from app.operations.clock import now
from app.operations.dashboards import run_events
from app.operations.queries import TAB_ALL, InvalidQuery, RunFilters, list_runs, tab_counts
from app.presenter.detail import run_detail
from app.presenter.lists import list_args, operations_list
from app.presenter.runs import run_views


def _filters(args, scope):
    raw_tenant = args.get("tenant_id")
    if raw_tenant is not None and not (raw_tenant.isascii() and raw_tenant.isdigit()):
        raise InvalidQuery("tenant_id", "tenant_id must be a number")
    tenant = tenant_id_or_404(scope, int(raw_tenant)) if raw_tenant else None
    filters = RunFilters(
        tenant_id=tenant.id if tenant else None,
        type=args.get("type"),
        status=args.get("status"),
        problem_class=args.get("problemClass"),
    )
    return tenant, filters.validate()


@bp.get("/admin/operations")
@login_required
def operations():
    """Tabs with counts, filters, newest first, keyset pages, tenant context."""
    scope = current_scope()
    policy, at = get_policy(), now()
    args = list_args(request.args)
    tab = args.get("activeTab", TAB_ALL)
    try:
        tenant, filters = _filters(args, scope)
        counts = tab_counts(scope, policy=policy, now=at, filters=filters)
        page = list_runs(
            scope, policy=policy, now=at, tab=tab, filters=filters, cursor=args.get("cursor")
        )
    except InvalidQuery as exc:
        abort(400, description=exc.message)
    tenants = visible_tenants(scope)
    view = operations_list(
        args,
        tab=tab,
        counts=counts,
        page=page,
        tenant=tenant,
        tenants=tenants,
        policy=policy,
    )
    here = request.full_path.rstrip("?")
    by_id = {t.id: t for t in tenants}
    rows = run_views(page.runs, policy=policy, now=at, back=here, tenants=by_id)
    return render_template(
        "monitoring/operations.html",
        view=view,
        rows=rows,
        overlay=overlay_for(scope, tenant) if tenant else None,
    )


@bp.get("/admin/operations/<int:run_id>", endpoint="run_detail")
@login_required
def run_detail_page(run_id):
    """Every fact of one run, its banner, timeline and the way back to the list."""
    scope = current_scope()
    run = run_or_404(scope, run_id)
    detail = run_detail(
        run, run_events(run.id), policy=get_policy(), now=now(), back=request.args.get("back")
    )
    return render_template("monitoring/run_detail.html", detail=detail)
