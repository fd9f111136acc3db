"""Report calls are limited per token: 429 with Retry-After, other tokens and reads unaffected."""

import time

import pytest

from app.extensions import limiter
from app.models import RunEvent
from tests.api.conftest import error_of
from tests.conftest import T0
from tests.factories import make_run

LIMIT = 5


@pytest.fixture
def app(app):
    """The test app with the limiter on as in production (5 reports a second per token)."""
    app.config["RATELIMIT_ENABLED"] = True
    app.config["API_REPORT_LIMIT"] = f"{LIMIT}/second"
    limiter.init_app(app)
    limiter.reset()
    yield app
    limiter.reset()


@pytest.fixture
def wall(monkeypatch):
    """The limiter's windows follow the wall clock: hold it still, move it by hand."""
    now = [time.time()]
    monkeypatch.setattr(time, "time", lambda: now[0])
    return now


def test_report_calls_beyond_the_limit_answer_429_and_write_nothing(
    api, other_api, db, workspace, wall
):
    run = make_run(workspace, now=T0, age=60)
    calls = [
        lambda: api.post("/api/v1/runs", json={"type": "report_export"}),
        lambda: api.post(f"/api/v1/runs/{run.id}/heartbeat", json={}),
        lambda: api.post(f"/api/v1/runs/{run.id}/heartbeat", json={"processed": 1}),
        lambda: api.post("/api/v1/runs/1000/start"),  # unknown run: counted all the same
        lambda: api.post(f"/api/v1/runs/{run.id}/heartbeat", json={}),
    ]
    assert [call().status_code for call in calls] == [201, 200, 200, 404, 200]
    events = db.session.query(RunEvent).count()
    refused = api.post(f"/api/v1/runs/{run.id}/complete", json={"outcome": "succeeded"})
    error = error_of(refused, 429, "rate_limited")
    assert refused.headers["Retry-After"] == "1"
    assert "5 per 1 second" in error["message"]
    assert db.session.query(RunEvent).count() == events
    assert api.get(f"/api/v1/runs/{run.id}").status_code == 200  # reads are not limited
    other = other_api.post("/api/v1/runs", json={"type": "report_export"})
    assert other.status_code == 201  # another token has its own count
    wall[0] += 1.0
    again = api.post(f"/api/v1/runs/{run.id}/complete", json={"outcome": "succeeded"})
    assert again.status_code == 200


def test_a_call_without_a_token_is_not_counted(api, client, wall):
    for _ in range(LIMIT + 2):
        assert client.post("/api/v1/runs", json={"type": "report_export"}).status_code == 401
    assert api.post("/api/v1/runs", json={"type": "report_export"}).status_code == 201
