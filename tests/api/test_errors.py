"""Every error class of the API answers JSON, and a refused request writes nothing."""

import io

import pytest
from flask import request

from app.models import OperationRun, RunEvent
from app.operations.tokens import revoke_token
from tests.api.conftest import error_of, writes_nothing
from tests.conftest import T0
from tests.factories import make_run

CREATE = {"type": "inventory_sync"}
# A chunked body: no Content-Length, the server marks the stream as terminated.
STREAMED = {"wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"}


@pytest.fixture
def running(workspace):
    return make_run(workspace, now=T0, type="inventory_sync", age=60, processed=2, total=10)


@pytest.mark.parametrize(
    "body, code",
    [
        (b"{", "malformed_json"),
        (b'{"type": "inventory_sync",}', "malformed_json"),
        (b'{"type": NaN}', "malformed_json"),
        (b"\xff\xfe", "malformed_json"),
        (b"[]", "body_not_object"),
        (b'"inventory_sync"', "body_not_object"),
        (b"null", "body_not_object"),
    ],
)
def test_400_for_a_body_that_is_not_a_json_object(api, db, body, code):
    with writes_nothing(db):
        response = api.post("/api/v1/runs", data=body, content_type="application/json")
    error_of(response, 400, code)


def test_400_for_a_body_that_is_not_json(api, db):
    with writes_nothing(db):
        response = api.post("/api/v1/runs", data="type=inventory_sync", content_type="text/plain")
    error_of(response, 400, "unsupported_content_type")


def test_400_on_progress_endpoints_too(api, db, running):
    with writes_nothing(db):
        response = api.post(
            f"/api/v1/runs/{running.id}/heartbeat", data=b"[1]", content_type="application/json"
        )
    error_of(response, 400, "body_not_object")


@pytest.mark.parametrize(
    "headers, code",
    [
        ({}, "token_missing"),
        ({"Authorization": "Bearer "}, "token_missing"),
        ({"Authorization": "Basic dXNlcjpwdw=="}, "token_missing"),
        ({"Authorization": "Bearer rw_not-a-real-token"}, "token_invalid"),
        ({"Authorization": "Bearer something-else"}, "token_invalid"),
    ],
)
def test_401_without_a_valid_token(client, db, issued, running, headers, code):
    for method, path in [
        ("POST", "/api/v1/runs"),
        ("POST", f"/api/v1/runs/{running.id}/heartbeat"),
        ("GET", f"/api/v1/runs/{running.id}"),
        ("GET", "/api/v1/runs"),
    ]:
        with writes_nothing(db):
            response = client.open(path, method=method, json=CREATE, headers=headers)
        error_of(response, 401, code)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_401_for_a_revoked_token(api, db, issued, clock):
    assert api.get("/api/v1/runs").status_code == 200
    revoke_token(issued.token, now=clock.now())
    with writes_nothing(db):
        response = api.post("/api/v1/runs", json=CREATE)
    error_of(response, 401, "token_invalid")
    error_of(api.get("/api/v1/runs"), 401, "token_invalid")


def test_api_ignores_a_signed_in_session(client, db, workspace):
    from tests.conftest import login
    from tests.factories import make_member, make_user

    user = make_user()
    make_member(user, workspace, "owner")
    login(client, user)
    error_of(client.get("/api/v1/runs"), 401, "token_missing")


@pytest.mark.parametrize("run_id", [999999, 2**31, 2**70])
@pytest.mark.parametrize("action", ["start", "heartbeat", "complete", None])
def test_404_for_an_unknown_run(api, db, action, run_id):
    path = f"/api/v1/runs/{run_id}" + (f"/{action}" if action else "")
    body = {"outcome": "failed"} if action == "complete" else None
    with writes_nothing(db):
        response = api.open(path, method="POST" if action else "GET", json=body)
    error_of(response, 404, "run_not_found")


@pytest.mark.parametrize("action", ["start", "heartbeat", "complete", None])
def test_404_for_a_run_of_another_workspace(other_api, db, running, action):
    path = f"/api/v1/runs/{running.id}" + (f"/{action}" if action else "")
    body = {"outcome": "failed"} if action == "complete" else {}
    with writes_nothing(db):
        response = other_api.open(path, method="POST" if action else "GET", json=body)
    error_of(response, 404, "run_not_found")
    db.session.expire_all()
    assert db.session.get(OperationRun, running.id).status == "running"


@pytest.mark.parametrize("ref", ["nope", "00000000-0000-0000-0000-000000000000", "globex-t"])
def test_404_for_an_unknown_or_foreign_tenant(api, db, tenant, other_workspace, ref):
    with writes_nothing(db):
        response = api.post("/api/v1/runs", json={**CREATE, "tenant": ref})
    error_of(response, 404, "tenant_not_found")
    with writes_nothing(db):
        error_of(api.get(f"/api/v1/runs?tenant={ref}"), 404, "tenant_not_found")


def test_404_for_a_foreign_tenant_by_uuid(api, db, other_workspace):
    foreign = other_workspace[1]
    with writes_nothing(db):
        response = api.post("/api/v1/runs", json={**CREATE, "tenant": foreign.uuid})
    error_of(response, 404, "tenant_not_found")


def test_404_and_405_for_unknown_api_paths_are_json(api, db):
    error_of(api.get("/api/v1/nothing-here"), 404, "not_found")
    error_of(api.get("/api/v2/runs"), 404, "not_found")
    error_of(api.get("/api/v1/runs/abc"), 404, "not_found")
    with writes_nothing(db):
        response = api.open("/api/v1/runs", method="DELETE")
    error_of(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]
    error_of(api.get("/api/v1/runs/1/start"), 405, "method_not_allowed")


def test_409_start_of_a_running_run(api, db, running):
    with writes_nothing(db):
        response = api.post(f"/api/v1/runs/{running.id}/start")
    error = error_of(response, 409, "transition_not_allowed")
    assert "running" in error["message"]


def test_409_heartbeat_of_a_queued_run(api, db, workspace):
    queued = make_run(workspace, now=T0, status="queued")
    with writes_nothing(db):
        response = api.post(f"/api/v1/runs/{queued.id}/heartbeat", json={"processed": 1})
    error_of(response, 409, "transition_not_allowed")


TIMELINE_COUNTERS = ("event_count", "late_reports", "last_late_report_at")


def _snapshot(db, run_id):
    """The run's columns, except the timeline's counters (a late report counts itself)."""
    db.session.expire_all()
    run = db.session.get(OperationRun, run_id)
    columns = OperationRun.__table__.columns
    return {c.key: getattr(run, c.key) for c in columns if c.key not in TIMELINE_COUNTERS}


@pytest.mark.parametrize(
    "action, body",
    [
        ("heartbeat", {"processed": 9, "total": 10}),
        ("complete", {"outcome": "succeeded", "processed": 10}),
        ("start", {}),
    ],
)
def test_409_late_report_on_a_completed_run_is_kept_and_changes_nothing(
    api, db, workspace, clock, action, body
):
    closed = make_run(workspace, now=T0, status="completed", reconciled=True, processed=3)
    before = _snapshot(db, closed.id)
    clock.advance(90)
    response = api.post(f"/api/v1/runs/{closed.id}/{action}", json=body)
    error = error_of(response, 409, "run_already_completed")
    assert "already completed" in error["message"]
    assert _snapshot(db, closed.id) == before
    counted = db.session.get(OperationRun, closed.id)
    assert (counted.event_count, counted.late_reports, counted.late_reports_omitted) == (2, 1, 0)
    assert counted.last_late_report_at == clock.now()
    late = db.session.query(RunEvent).filter_by(run_id=closed.id, kind="late_report").one()
    assert late.data["report"] == action
    assert late.at == clock.now()
    assert late.actor == "api:worker-1"
    timeline = api.get(f"/api/v1/runs/{closed.id}").get_json()
    assert timeline["status"] == "completed" and timeline["outcome"] == "failed"
    assert timeline["events"][0]["kind"] == "late_report"  # newest first


def test_413_for_a_body_over_the_limit(api, db, app, running):
    size = app.config["MAX_CONTENT_LENGTH"] + 1
    big = b'{"context": {"x": "' + b"a" * size + b'"}}'
    for path in ("/api/v1/runs", f"/api/v1/runs/{running.id}/heartbeat"):
        with writes_nothing(db):
            response = api.post(path, data=big, content_type="application/json")
        error = error_of(response, 413, "body_too_large")
        assert str(app.config["MAX_CONTENT_LENGTH"]) in error["message"]


def test_a_body_just_under_the_limit_is_read(api, db, app):
    padding = app.config["MAX_CONTENT_LENGTH"] - 100
    body = b'{"type": "inventory_sync", "initiator": "' + b" " * padding + b'"}'
    with writes_nothing(db):
        response = api.post("/api/v1/runs", data=body, content_type="application/json")
    error = error_of(response, 422, "validation_failed")
    assert set(error["fields"]) == {"initiator"}


def test_413_raised_outside_the_blueprint_is_json_on_api_paths(app, client, db):
    @app.before_request
    def read_every_body():
        request.get_data()

    big = b"{}" + b" " * app.config["MAX_CONTENT_LENGTH"]
    with writes_nothing(db):
        response = client.post("/api/v1/nowhere", data=big, content_type="application/json")
    error_of(response, 413, "body_too_large")
    page = client.post("/nowhere", data=big, content_type="application/json")
    assert page.status_code == 413 and page.mimetype == "text/html"


def test_one_handler_chooses_json_or_the_page_by_path_and_accept(client):
    page = client.get("/nowhere")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "Page not found" in page.get_data(as_text=True)
    assert client.get("/nowhere", headers={"Accept": "*/*"}).mimetype == "text/html"
    turbo = "text/vnd.turbo-stream.html, text/html, application/xhtml+xml"
    assert client.get("/nowhere", headers={"Accept": turbo}).mimetype == "text/html"
    error_of(client.get("/nowhere", headers={"Accept": "application/json"}), 404, "not_found")
    error_of(client.get("/api/nowhere", headers={"Accept": "text/html"}), 404, "not_found")
    wrong = client.open("/login", method="DELETE", headers={"Accept": "application/json"})
    error_of(wrong, 405, "method_not_allowed")
    assert "GET" in wrong.headers["Allow"]


def test_http_errors_raised_in_views_follow_the_same_choice(app, client, db):
    from flask import abort

    app.add_url_rule("/api/v1/teapot", "api_teapot", lambda: abort(400, "no tea"))
    app.add_url_rule("/teapot", "teapot", lambda: abort(400, "no tea"))
    app.add_url_rule("/broken", "broken", lambda: 1 / 0)
    app.add_url_rule("/api/v1/broken", "api_broken", lambda: 1 / 0)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert error_of(client.get("/api/v1/teapot"), 400, "bad_request")["message"] == "no tea"
    page = client.get("/teapot")
    assert page.status_code == 400 and "no tea" in page.get_data(as_text=True)
    assert client.get("/broken").status_code == 500
    assert "Something went wrong" in client.get("/broken").get_data(as_text=True)
    error_of(client.get("/api/v1/broken"), 500, "internal_error")


def test_413_for_a_streamed_body_without_content_length(api, db, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    big = b'{"type": "inventory_sync", "initiator": "' + b"a" * limit + b'"}'
    with writes_nothing(db):
        response = api.post(
            "/api/v1/runs",
            input_stream=io.BytesIO(big),
            content_type="application/json",
            environ_overrides=STREAMED,
        )
    error_of(response, 413, "body_too_large")
    small = api.post(
        "/api/v1/runs",
        input_stream=io.BytesIO(b'{"type": "inventory_sync"}'),
        content_type="application/json",
        environ_overrides=STREAMED,
    )
    assert small.status_code == 201
