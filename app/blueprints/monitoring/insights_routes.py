"""Insights page: durations and windows learned from history, per operation type."""

from flask_login import login_required

from app.blueprints.context import current_scope
from app.blueprints.monitoring import bp
from app.blueprints.monitoring.routes import page_args
from app.operations.clock import now
from app.pages import insights, render_page


@bp.get("/admin/insights", endpoint="insights")
@login_required
def insights_page():
    """Percentiles, false alarms and suggested windows (owners and operators)."""
    return render_page(insights.build(current_scope(), page_args(), now()))
