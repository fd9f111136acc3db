"""422: each field is checked strictly and named in ``fields``; nothing is written."""

from datetime import timedelta

import pytest

from app.blueprints.api.schemas import CONTEXT_MAX_BYTES, MAX_INT64
from tests.api.conftest import error_of, writes_nothing
from tests.conftest import T0
from tests.factories import make_run

CREATE = {"type": "inventory_sync"}
IN_5_MIN = "2026-11-26T12:05:00Z"
IN_5_MIN_1_S = "2026-11-26T12:05:01Z"


def refused(api, db, path, body, field):
    """POST ``body``; assert a 422 naming ``field`` and no write. Returns the message."""
    with writes_nothing(db):
        response = api.post(path, json=body)
    error = error_of(response, 422, "validation_failed")
    assert field in error["fields"], error
    return error["fields"][field]


@pytest.fixture
def running(workspace):
    return make_run(workspace, now=T0, type="inventory_sync", age=60, processed=4, total=10)


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"type": None}, "type"),
        ({"type": 7}, "type"),
        ({"type": "no_such_type"}, "type"),
        ({"type": ""}, "type"),
        ({"tenant": 12}, "tenant"),
        ({"tenant": ""}, "tenant"),
        ({"status": "completed"}, "status"),
        ({"status": "RUNNING"}, "status"),
        ({"initiator": "x" * 201}, "initiator"),
        ({"initiator": 5}, "initiator"),
        ({"total": -1}, "total"),
        ({"total": True}, "total"),
        ({"total": "10"}, "total"),
        ({"total": 10.0}, "total"),
        ({"total": MAX_INT64 + 1}, "total"),
        ({"context": [1, 2]}, "context"),
        ({"context": "text"}, "context"),
        ({"context": {"blob": "x" * CONTEXT_MAX_BYTES}}, "context"),
        ({"created_at": "yesterday"}, "created_at"),
        ({"created_at": "2026-11-26"}, "created_at"),
        ({"created_at": "2026-13-26T12:00:00Z"}, "created_at"),
        ({"created_at": 1795000000}, "created_at"),
        ({"created_at": IN_5_MIN_1_S}, "created_at"),
        ({"status": "running", "started_at": IN_5_MIN_1_S}, "started_at"),
        ({"started_at": "2026-11-26T11:00:00Z"}, "started_at"),
        (
            {
                "status": "running",
                "created_at": "2026-11-26T11:00:00Z",
                "started_at": "2026-11-26T10:59:59Z",
            },
            "started_at",
        ),
        ({"processed": 1}, "processed"),
        ({"workspace_id": 2}, "workspace_id"),
    ],
)
def test_create_refuses_each_bad_field(api, db, tenant, changes, field):
    refused(api, db, "/api/v1/runs", {**CREATE, **changes}, field)


def test_missing_type_and_every_problem_at_once(api, db):
    with writes_nothing(db):
        response = api.post("/api/v1/runs", json={"total": -1, "extra": 1})
    fields = error_of(response, 422)["fields"]
    assert fields == {
        "type": "is required",
        "total": "Input should be greater than or equal to 0",
        "extra": "is not a known field",
    }


def test_an_empty_body_is_an_empty_object(api, db):
    with writes_nothing(db):
        response = api.post("/api/v1/runs")
    assert error_of(response, 422)["fields"] == {"type": "is required"}


def test_context_at_the_size_limit_is_accepted(api):
    padding = CONTEXT_MAX_BYTES - len('{"b":""}')
    response = api.post("/api/v1/runs", json={**CREATE, "context": {"b": "x" * padding}})
    assert response.status_code == 201
    over = {"b": "x" * (padding + 1)}
    assert api.post("/api/v1/runs", json={**CREATE, "context": over}).status_code == 422


def test_largest_count_is_accepted(api):
    response = api.post("/api/v1/runs", json={**CREATE, "total": MAX_INT64})
    assert response.status_code == 201
    assert response.get_json()["total"] == MAX_INT64


@pytest.mark.parametrize(
    "field, body",
    [
        ("created_at", {"created_at": IN_5_MIN}),
        ("started_at", {"status": "running", "started_at": IN_5_MIN}),
        ("created_at", {"created_at": "2026-11-26T13:05:00+01:00"}),
    ],
)
def test_timestamp_exactly_five_minutes_ahead_is_allowed(api, field, body):
    response = api.post("/api/v1/runs", json={**CREATE, **body})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()[field] == "2026-11-26T12:05:00.000000Z"


def test_five_minutes_and_a_microsecond_ahead_is_refused(api, db):
    message = refused(
        api,
        db,
        "/api/v1/runs",
        {**CREATE, "created_at": "2026-11-26T12:05:00.000001Z"},
        "created_at",
    )
    assert "5 minutes in the future" in message


def test_future_limit_follows_the_app_clock(api, db, clock):
    refused(api, db, "/api/v1/runs", {**CREATE, "created_at": IN_5_MIN_1_S}, "created_at")
    clock.advance(1)
    assert api.post("/api/v1/runs", json={**CREATE, "created_at": IN_5_MIN_1_S}).status_code == 201


@pytest.mark.parametrize(
    "body, field",
    [
        ({"processed": -1}, "processed"),
        ({"processed": False}, "processed"),
        ({"processed": "5"}, "processed"),
        ({"processed": 1.5}, "processed"),
        ({"total": -3}, "total"),
        ({"total": MAX_INT64 + 1}, "total"),
        ({"processed": 11, "total": 10}, "processed"),
        ({"processed": 11}, "processed"),
        ({"total": 3}, "total"),
        ({"at": IN_5_MIN_1_S}, "at"),
        ({"at": "2026-11-26T11:58:59Z"}, "at"),
        ({"at": "noon"}, "at"),
        ({"outcome": "succeeded"}, "outcome"),
    ],
)
def test_heartbeat_refuses_each_bad_field(api, db, running, body, field):
    before = (running.processed, running.total, running.last_heartbeat_at)
    refused(api, db, f"/api/v1/runs/{running.id}/heartbeat", body, field)
    db.session.refresh(running)
    assert (running.processed, running.total, running.last_heartbeat_at) == before


def test_heartbeat_at_exactly_five_minutes_ahead_is_allowed(api, running):
    response = api.post(f"/api/v1/runs/{running.id}/heartbeat", json={"at": IN_5_MIN})
    assert response.status_code == 200
    assert response.get_json()["last_heartbeat_at"] == "2026-11-26T12:05:00.000000Z"


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "outcome"),
        ({"outcome": "pending"}, "outcome"),
        ({"outcome": "ok"}, "outcome"),
        ({"outcome": "failed", "message": 3}, "message"),
        ({"outcome": "failed", "message": "x" * 4001}, "message"),
        ({"outcome": "succeeded", "processed": 11}, "processed"),
        ({"outcome": "succeeded", "processed": 5, "total": 4}, "processed"),
        ({"outcome": "succeeded", "total": -1}, "total"),
        ({"outcome": "succeeded", "at": "2026-11-26T12:00:00Z"}, "at"),
    ],
)
def test_complete_refuses_each_bad_field(api, db, running, body, field):
    refused(api, db, f"/api/v1/runs/{running.id}/complete", body, field)
    db.session.refresh(running)
    assert running.status == "running"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"at": IN_5_MIN_1_S}, "at"),
        ({"at": "2026-11-26T11:00:00Z"}, "at"),
        ({"processed": 1}, "processed"),
    ],
)
def test_start_refuses_each_bad_field(api, db, workspace, body, field):
    queued = make_run(workspace, now=T0, status="queued", age=60)
    refused(api, db, f"/api/v1/runs/{queued.id}/start", body, field)
    db.session.refresh(queued)
    assert queued.status == "queued"


@pytest.mark.parametrize(
    "query, field",
    [
        ("tab=nope", "tab"),
        ("status=done", "status"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=ten", "limit"),
        ("cursor=%21%21not-a-cursor", "cursor"),
        ("tenant_id=1", "tenant_id"),
        ("status=queued&status=running", "status"),
    ],
)
def test_list_refuses_each_bad_parameter(api, db, query, field):
    with writes_nothing(db):
        response = api.get(f"/api/v1/runs?{query}")
    assert field in error_of(response, 422, "validation_failed")["fields"]


def test_backfilled_times_far_in_the_past_are_fine(api):
    past = (T0 - timedelta(days=30)).isoformat() + "Z"
    response = api.post("/api/v1/runs", json={**CREATE, "created_at": past})
    assert response.status_code == 201
