"""The canonical run detail: facts, banner, timeline and the way back to the list."""

from flask import abort

from app.operations.queries import MAX_ROW_ID
from app.operations.timeline import InvalidCursor, timeline_page
from app.pages import Page, facts, reads_for, shared_by_tenant
from app.pages.facts import stale_count
from app.presenter.detail import run_detail

TEMPLATE = "monitoring/run_detail.html"


def run_or_404(reads, run_id):
    """The visible run (a RunRead), or 404."""
    run = facts.run(reads, run_id) if 0 <= run_id <= MAX_ROW_ID else None
    if run is None:
        abort(404)
    return run


def _timeline(reads, run, before):
    """A page of the (visible) run's timeline, shared by every viewer of the run in a sweep."""
    return shared_by_tenant(
        reads.scope,
        reads.now,
        "timeline",
        lambda: timeline_page(run, before=before),
        run.tenant_id,
        run.id,
        before,
    )


def build(scope, args, now):
    """The detail of run ``args.view_args["run_id"]`` with one page of its timeline (older
    than ``events_before`` when given); 404 when it is not visible, 400 for a bad cursor."""
    reads = reads_for(scope, now)
    run = run_or_404(reads, int(args.view_args["run_id"]))
    try:
        timeline = _timeline(reads, run, args.args.get("events_before"))
    except InvalidCursor as exc:
        abort(400, description=str(exc))
    detail = run_detail(run, timeline, policy=reads.policy, now=now, back=args.args.get("back"))
    return Page(TEMPLATE, {"detail": detail, "stale_count": stale_count(reads)}, now)
