"""Progress is a high-water mark: lower reports are kept on the timeline, never stored."""

from datetime import timedelta

import sqlalchemy as sa

from app.models import OperationRun, RunEvent
from reconciler.reconcile import run_pass
from tests.conftest import T0, iso
from tests.factories import make_run

MIN = timedelta(minutes=1)


def _events(db, run_id):
    query = sa.select(RunEvent).where(RunEvent.run_id == run_id).order_by(RunEvent.id)
    return [(e.kind, e.data) for e in db.session.scalars(query)]


def _run(db, run_id):
    db.session.expire_all()
    return db.session.get(OperationRun, run_id)


def _beat(api, run_id, **body):
    response = api.post(f"/api/v1/runs/{run_id}/heartbeat", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_a_lower_report_is_kept_as_a_regression_and_changes_nothing(api, db, clock, workspace):
    run = make_run(workspace, now=T0, type="inventory_sync", age=600)
    assert _beat(api, run.id, processed=5)["processed"] == 5
    clock.advance(60)
    lower = _beat(api, run.id, processed=3, total=10)
    assert (lower["processed"], lower["total"], lower["last_progress_at"]) == (5, 10, iso(T0))
    assert lower["last_heartbeat_at"] == iso(T0 + MIN)
    clock.advance(60)
    assert _beat(api, run.id, processed=5)["last_progress_at"] == iso(T0)  # equal: no event
    clock.advance(60)
    grown = _beat(api, run.id, processed=7)
    assert (grown["processed"], grown["last_progress_at"]) == (7, iso(T0 + 3 * MIN))
    assert _events(db, run.id)[1:] == [
        ("progress", {"processed": 5, "at": iso(T0)}),
        ("progress_regression", {"reported": 3, "kept": 5, "total": 10, "at": iso(T0 + MIN)}),
        ("progress", {"processed": 7, "at": iso(T0 + 3 * MIN)}),
    ]
    stored = _run(db, run.id)
    assert (stored.progress_regressions, stored.progress_regressions_omitted) == (1, 0)
    assert stored.event_count == 4


def test_a_heartbeat_with_a_past_at_never_moves_times_backwards(api, db, clock, workspace):
    run = make_run(workspace, now=T0, type="inventory_sync", age=600)
    _beat(api, run.id, processed=1)
    clock.advance(60)
    backfilled = _beat(api, run.id, processed=2, at=iso(T0 - 3 * MIN))
    assert backfilled["processed"] == 2  # the high-water mark grew ...
    assert backfilled["last_progress_at"] == iso(T0)  # ... but not back to 11:57
    assert backfilled["last_heartbeat_at"] == iso(T0)
    assert _events(db, run.id)[-1] == ("progress", {"processed": 2, "at": iso(T0 - 3 * MIN)})


def test_completing_with_a_lower_count_keeps_the_high_water_mark(api, db, clock, workspace):
    run = make_run(workspace, now=T0, type="inventory_sync", age=600)
    _beat(api, run.id, processed=8)
    clock.advance(60)
    done = api.post(
        f"/api/v1/runs/{run.id}/complete", json={"outcome": "succeeded", "processed": 6}
    ).get_json()
    assert (done["processed"], done["last_progress_at"]) == (8, iso(T0))
    assert _events(db, run.id)[-1] == ("completed", {"outcome": "succeeded", "processed": 6})


def test_an_oscillating_count_is_closed_for_no_progress_at_its_deadline(api, db, clock, app):
    """1, 0, 1, 0 ... every minute: progress stopped at the first 1 (12:01). inventory_sync
    allows 15 min without progress plus 30 min of grace: closed at 12:46, as no progress
    (not at 13:30 as running too long)."""
    created = api.post(
        "/api/v1/runs",
        json={"type": "inventory_sync", "status": "running", "started_at": iso(T0)},
    ).get_json()
    due = T0 + MIN + 15 * MIN + 30 * MIN
    minute = 1
    while T0 + minute * MIN < due:
        clock.set(T0 + minute * MIN)
        _beat(api, created["id"], processed=minute % 2)
        minute += 1
    clock.set(due - timedelta(seconds=1))
    assert run_pass(holder="test").reconciled == 0
    assert _run(db, created["id"]).status == "running"
    clock.set(due)
    assert run_pass(holder="test").reconciled == 1
    closed = _run(db, created["id"])
    assert (closed.outcome, closed.reconciliation_reason) == ("failed", "stale_no_progress")
    assert (closed.processed, closed.last_progress_at) == (1, T0 + MIN)
    kinds = [kind for kind, _data in _events(db, created["id"])]
    assert kinds.count("progress") == 1
    assert kinds.count("progress_regression") == 22  # the 0s of minutes 2, 4, ... 44


def test_regressions_are_kept_up_to_the_limit_then_counted(api, db, clock, app, workspace):
    app.config["TIMELINE_REGRESSIONS_KEPT"] = 2
    run = make_run(workspace, now=T0, type="inventory_sync", age=600)
    _beat(api, run.id, processed=10)
    for reported in (4, 3, 2, 1):
        clock.advance(60)
        _beat(api, run.id, processed=reported)
    stored = _run(db, run.id)
    assert (stored.progress_regressions, stored.progress_regressions_omitted) == (4, 2)
    assert stored.last_regression_at == T0 + 4 * MIN
    assert stored.event_count == 4  # created, progress, two regressions
    kept = [data["reported"] for kind, data in _events(db, run.id) if kind == "progress_regression"]
    assert kept == [4, 3]
    body = api.get(f"/api/v1/runs/{run.id}").get_json()
    assert body["events_omitted"] == {
        "progress_regression": {"count": 2, "last_at": iso(T0 + 4 * MIN)}
    }
    assert body["processed"] == 10


def test_late_reports_are_kept_up_to_the_limit_then_counted(api, db, clock, app, workspace):
    app.config["TIMELINE_LATE_REPORTS_KEPT"] = 2
    closed = make_run(workspace, now=T0, status="completed", reconciled=True)
    for _ in range(5):
        clock.advance(60)
        response = api.post(f"/api/v1/runs/{closed.id}/heartbeat", json={"processed": 1})
        assert response.status_code == 409
    stored = _run(db, closed.id)
    assert (stored.late_reports, stored.late_reports_omitted) == (5, 3)
    assert stored.last_late_report_at == T0 + 5 * MIN
    late = [kind for kind, _data in _events(db, closed.id) if kind == "late_report"]
    assert len(late) == stored.event_count - 1 == 2
    body = api.get(f"/api/v1/runs/{closed.id}").get_json()
    assert body["events_total"] == 3
    assert body["events_omitted"] == {"late_report": {"count": 3, "last_at": iso(T0 + 5 * MIN)}}
    # Raising the limit later does not reopen the gap: counting, once started, goes on.
    app.config["TIMELINE_LATE_REPORTS_KEPT"] = 100
    api.post(f"/api/v1/runs/{closed.id}/complete", json={"outcome": "succeeded"})
    assert _run(db, closed.id).late_reports_omitted == 4
