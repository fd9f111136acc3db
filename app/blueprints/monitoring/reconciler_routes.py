"""Reconciler status page: recent passes, next pass, lease holder, its own freshness."""

from flask_login import login_required

from app.blueprints.context import current_scope
from app.blueprints.monitoring import bp
from app.blueprints.monitoring.routes import page_args
from app.operations.clock import now
from app.pages import reconciler, render_page


@bp.get("/admin/reconciler", endpoint="reconciler")
@login_required
def reconciler_page():
    """The reconciler's recent passes and whether it looks stale (counts: the user's own)."""
    return render_page(reconciler.build(current_scope(), page_args(), now()))
