"""Tenant dashboard and its active operations overlay."""

from flask import render_template, request
from flask_login import login_required

from app.blueprints.context import current_scope
from app.blueprints.tenant import bp
from app.operations.clock import now
from app.pages import PageArgs, reads_for, render_page, tenant


@bp.get("/admin/t/<tenant_uuid>")
@login_required
def dashboard(tenant_uuid):
    """KPIs, needs attention, recent runs, the 7-day summary and the overlay."""
    args = PageArgs.of(request.view_args, request.args, request.full_path.rstrip("?"))
    return render_page(tenant.build(current_scope(), args, now()))


@bp.get("/admin/t/<tenant_uuid>/active-operations")
@login_required
def active_operations(tenant_uuid):
    """The overlay's turbo-frame alone, for polling while live updates are down."""
    scope = current_scope()
    found = tenant.tenant_or_404(scope, tenant_uuid)
    overlay = tenant.overlay_for(reads_for(scope, now()), found)
    return render_template("partials/active_operations.html", overlay=overlay, frame_only=True)
