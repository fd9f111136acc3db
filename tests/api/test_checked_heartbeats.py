"""A heartbeat's checks made by its own statement (PostgreSQL) answer as the API's checks:
at each edge of them a report is written at once or refused as the read-then-check path
refuses it (422, 404, 409), single or in a batch, and a refused one writes nothing."""

from datetime import timedelta

import pytest

from app.operations.clock import isoformat
from tests.api.conftest import writes_nothing
from tests.conftest import counted
from tests.factories import make_run

URL = "/api/v1/heartbeats"


def _edges(started):
    """(report, status) at each edge of the checks, for a run at 10 of 100."""
    return [
        ({}, 200),
        ({"processed": 100}, 200),  # up to the stored total
        ({"processed": 101}, 422),
        ({"total": 10}, 200),  # down to the stored progress
        ({"total": 9}, 422),
        ({"processed": 50, "total": 50}, 200),
        ({"processed": 51, "total": 50}, 422),
        ({"at": isoformat(started)}, 200),  # at the start
        ({"at": isoformat(started - timedelta(microseconds=1))}, 422),
    ]


def _run(workspace, clock, **fields):
    return make_run(workspace, now=clock.now(), processed=10, total=100, **fields)


@pytest.mark.parametrize("batched", [False, True], ids=["single", "batch"])
def test_reports_at_the_edges_of_the_checks(app, api, db, clock, workspace, batched):
    app.config["API_TOKEN_CACHE_SECONDS"] = 3600
    api.get("/api/v1/runs")  # the token is read once, by this call
    postgres = db.engine.dialect.name == "postgresql"
    for report, status in _edges(_run(workspace, clock).started_at):
        run = _run(workspace, clock)
        db.session.commit()
        run_id = run.id
        with counted(db) as seen:
            if batched:
                answer = api.post(URL, json={"items": [{"run_id": run_id, **report}]})
                got = answer.get_json()["results"][0]["status"]
            else:
                answer = api.post(f"/api/v1/runs/{run_id}/heartbeat", json=report)
                got = answer.status_code
        assert got == status, (report, answer.get_json())
        if status == 200 and postgres:
            assert len(seen) == 1, (report, seen)  # written at once, checks and all
        db.session.expire_all()
        written = run.last_heartbeat_at is not None
        assert written == (status == 200), report


def test_refused_reports_write_nothing_and_say_why(api, db, clock, workspace, other_workspace):
    running = _run(workspace, clock)
    elsewhere = _run(other_workspace[0], clock)
    done = _run(workspace, clock, status="completed", completed_ago=5)
    queued = _run(workspace, clock, status="queued")
    db.session.commit()
    with writes_nothing(db):
        for run_id in (elsewhere.id, 2**31 - 1, 2**31):
            answer = api.post(f"/api/v1/runs/{run_id}/heartbeat", json={})
            assert answer.status_code == 404
        answer = api.post(f"/api/v1/runs/{running.id}/heartbeat", json={"processed": 101})
        assert answer.status_code == 422
        assert api.post(f"/api/v1/runs/{queued.id}/heartbeat", json={}).status_code == 409
    answer = api.post(f"/api/v1/runs/{done.id}/heartbeat", json={})
    assert answer.get_json()["error"]["code"] == "run_already_completed"
    items = [
        {"run_id": running.id, "processed": 101},
        {"run_id": elsewhere.id},
        {"run_id": 2**31},
        {"run_id": queued.id},
        {"run_id": done.id},
        {"run_id": running.id + 10**6},
    ]
    with writes_nothing(db):
        results = api.post(URL, json={"items": items[:4]}).get_json()["results"]
    assert [r["status"] for r in results] == [422, 404, 404, 409]
    results = api.post(URL, json={"items": items}).get_json()["results"]
    assert [r["status"] for r in results] == [422, 404, 404, 409, 409, 404]
    db.session.expire_all()
    assert (running.processed, running.last_heartbeat_at) == (10, None)
    assert done.late_reports == 2
