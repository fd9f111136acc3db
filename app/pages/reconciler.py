"""The reconciler page: recent passes, next pass, lease holder, its own freshness."""

from dataclasses import dataclass

from app.operations.reconciler_status import recent_passes, reconciler_status, runs_visible_in
from app.pages import Page, reads_for
from app.pages.facts import stale_count
from app.presenter.formatting import duration, time_view
from app.presenter.reconciler import status_message

TEMPLATE = "monitoring/reconciler.html"
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


def build(scope, args, now):
    """The reconciler's status as ``scope`` may see it at ``now``.

    Run counts are the viewer's own: runs of other workspaces and hidden tenants never count.
    """
    reads = reads_for(scope, now)
    status = reconciler_status(now)
    records = recent_passes(RECENT_PASSES, now=now, can_see_run=runs_visible_in(reads))
    closed = reads.reconciled_by_pass([record.started_at for record in records])
    rows = [
        PassRow(
            record,
            time_view(record.started_at, now),
            duration(record.duration_seconds),
            OUTCOME_LABELS[record.outcome],
            closed.get(record.started_at, 0),
        )
        for record in records
    ]
    times = {
        "last_success": time_view(status.last_success_at, now),
        "next_pass": time_view(status.next_pass_at, now),
        "lease_expires": time_view(status.lease_expires_at, now),
    }
    context = {
        "status": status,
        "status_message": status_message(status),
        "times": times,
        "rows": rows,
        "interval": duration(status.interval_seconds),
        "stale_count": stale_count(reads),
    }
    return Page(TEMPLATE, context, now)
