"""The canonical run detail: facts, banner, timeline and the way back to the list."""

from flask import abort

from app.operations.queries import MAX_ROW_ID
from app.operations.timeline import InvalidCursor, timeline_page
from app.pages import Page, reads_for, stale_count
from app.presenter.detail import run_detail

TEMPLATE = "monitoring/run_detail.html"


def run_or_404(reads, run_id):
    """The visible run (a RunRead), or 404."""
    run = reads.run(run_id) if 0 <= run_id <= MAX_ROW_ID else None
    if run is None:
        abort(404)
    return run


def build(scope, args, now):
    """The detail of run ``args.view_args["run_id"]`` with one page of its timeline (older
    than ``events_before`` when given); 404 when it is not visible, 400 for a bad cursor."""
    reads = reads_for(scope, now)
    run = run_or_404(reads, int(args.view_args["run_id"]))
    try:
        timeline = timeline_page(run, before=args.args.get("events_before"))
    except InvalidCursor as exc:
        abort(400, description=str(exc))
    detail = run_detail(run, timeline, policy=reads.policy, now=now, back=args.args.get("back"))
    return Page(TEMPLATE, {"detail": detail, "stale_count": stale_count(reads)}, now)
