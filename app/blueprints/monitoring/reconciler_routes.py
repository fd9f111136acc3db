"""Reconciler status page: recent passes, next pass, lease holder, its own freshness."""

from dataclasses import dataclass

from flask import render_template
from flask_login import current_user, login_required

from app.blueprints.context import current_scope
from app.blueprints.monitoring import bp
from app.operations.clock import now
from app.operations.reconciler_status import (
    recent_passes,
    reconciled_by_pass,
    reconciler_status,
    runs_visible_to,
)
from app.presenter.formatting import duration, time_view

RECENT_PASSES = 20
OUTCOME_LABELS = {
    "finished": "Finished",
    "stopped": "Stopped early",
    "aborted": "Aborted",
    "running": "In progress",
    "interrupted": "Did not finish",
}


@dataclass(frozen=True)
class PassRow:
    """One recorded pass as the page shows it."""

    record: object
    started: object
    duration: str | None
    outcome_label: str
    reconciled_visible: int


@bp.get("/admin/reconciler")
@login_required
def reconciler():
    """The reconciler's recent passes and whether it looks stale.

    Run counts are the user's own: runs of other workspaces and hidden tenants never count.
    """
    scope = current_scope()
    at = now()
    status = reconciler_status(at)
    records = recent_passes(RECENT_PASSES, now=at, can_see_run=runs_visible_to(current_user))
    closed = reconciled_by_pass(scope, [record.started_at for record in records])
    rows = [
        PassRow(
            record,
            time_view(record.started_at, at),
            duration(record.duration_seconds),
            OUTCOME_LABELS[record.outcome],
            closed.get(record.started_at, 0),
        )
        for record in records
    ]
    times = {
        "last_success": time_view(status.last_success_at, at),
        "next_pass": time_view(status.next_pass_at, at),
        "lease_expires": time_view(status.lease_expires_at, at),
    }
    return render_template(
        "monitoring/reconciler.html",
        status=status,
        times=times,
        rows=rows,
        interval=duration(status.interval_seconds),
    )
