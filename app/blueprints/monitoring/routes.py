"""The canonical operations list and run detail."""

from flask import request
from flask_login import login_required

from app.blueprints.context import current_scope
from app.blueprints.monitoring import bp
from app.operations.clock import now
from app.pages import PageArgs, detail, operations, render_page


def page_args():
    """This request's PageArgs (view arguments, query, full path)."""
    return PageArgs.of(request.view_args, request.args, request.full_path.rstrip("?"))


@bp.get("/admin/operations", endpoint="operations")
@login_required
def operations_page():
    """Tabs with counts, filters, newest first, keyset pages, tenant context."""
    return render_page(operations.build(current_scope(), page_args(), now()))


@bp.get("/admin/operations/<int:run_id>", endpoint="run_detail")
@login_required
def run_detail_page(run_id):
    """Every fact of one run, its banner, timeline and the way back to the list."""
    return render_page(detail.build(current_scope(), page_args(), now()))
