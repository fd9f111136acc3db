"""GET /runs/<id> pages the timeline newest first, in the one (at, id) order."""

from datetime import timedelta

import sqlalchemy as sa

from app.models import OperationRun, RunEvent
from app.operations.timeline import timeline_page
from tests.api.conftest import error_of
from tests.conftest import T0, counted, iso
from tests.factories import add_events, make_run


def _order(db, run_id):
    """Every event id of the run in the timeline's order, read independently."""
    query = (
        sa.select(RunEvent.id)
        .where(RunEvent.run_id == run_id)
        .order_by(RunEvent.at.desc(), RunEvent.id.desc())
    )
    return list(db.session.scalars(query))


def test_backfilled_reports_read_in_the_one_order(api, db, clock, workspace):
    run = make_run(workspace, now=T0, type="inventory_sync", age=600)
    beat = f"/api/v1/runs/{run.id}/heartbeat"
    api.post(beat, json={"processed": 1})
    api.post(beat, json={"processed": 2, "at": iso(T0 - timedelta(minutes=2))})
    api.post(beat, json={"processed": 3, "at": iso(T0 - timedelta(minutes=1))})
    body = api.get(f"/api/v1/runs/{run.id}").get_json()
    # By time, newest first (not by arrival): 12:00 (1), 11:59 (3), 11:58 (2), created.
    processed = [(e["data"] or {}).get("processed") for e in body["events"]]
    assert processed == [1, 3, 2, None]
    assert [e["id"] for e in body["events"]] == _order(db, run.id)


def test_pages_walk_the_whole_timeline_once(api, db, workspace):
    run = make_run(workspace, now=T0, age=600)
    add_events(db, run, 119)
    seen, cursor, pages = [], None, 0
    while True:
        query = f"?events_before={cursor}" if cursor else ""
        body = api.get(f"/api/v1/runs/{run.id}{query}").get_json()
        assert body["events_total"] == 120
        seen += [e["id"] for e in body["events"]]
        pages += 1
        cursor = body["events_next"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == _order(db, run.id)
    assert len(set(seen)) == 120


def test_a_cursor_that_is_not_ours_is_refused(api, workspace):
    run = make_run(workspace, now=T0)
    for cursor in ("nope", "MjAyNi0xMS0yNlQxMjowMDowMHw", "x" * 201):
        error = error_of(api.get(f"/api/v1/runs/{run.id}?events_before={cursor}"), 422)
        assert set(error["fields"]) == {"events_before"}


def test_the_api_reads_one_page_whatever_the_timeline(api, db, workspace):
    small, large = make_run(workspace, now=T0), make_run(workspace, now=T0)
    add_events(db, small, 3)
    add_events(db, large, 3000)
    api.get(f"/api/v1/runs/{small.id}")  # the token is verified, then kept (frozen clock)
    answers = []
    for run_id in (small.id, large.id):
        db.session.expunge_all()
        with counted(db) as statements:
            body = api.get(f"/api/v1/runs/{run_id}").get_json()
        answers.append((len(statements), len(body["events"]), body["events_total"]))
    assert answers == [(2, 4, 4), (2, 50, 3001)]  # the run with its tenant, one page


def test_timeline_page_loads_no_more_than_the_page(db, workspace):
    run = make_run(workspace, now=T0)
    add_events(db, run, 3000)
    run = db.session.get(OperationRun, run.id)
    with counted(db) as statements:
        page = timeline_page(run, limit=20)
    assert (len(page.events), page.total, page.older is not None) == (20, 3001, True)
    [statement] = statements  # the total comes from the run's counter, not a count
    assert "LIMIT" in statement.upper() and "count(" not in statement
