"""Answers for signed-in users and the API are never stored; sockets only to this origin;
/metrics in production needs its token unless explicitly opened."""

import secrets

import pytest

from app import create_app
from config import ProductionConfig
from tests.security.conftest import html_pages, send, sign_in_as

REMOTE = {"REMOTE_ADDR": "203.0.113.9"}
LOOPBACK = {"REMOTE_ADDR": "127.0.0.1"}


def csp(response):
    policy = response.headers["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


def test_every_signed_in_page_is_no_store_and_connects_only_to_its_origin(app, world, states):  # noqa: F811
    client = sign_in_as(app.test_client(), world.users.viewer)
    owner = sign_in_as(app.test_client(), world.users.owner)
    for path in html_pages(world, states):
        response = send(app, owner, "GET", path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path
        assert csp(response)["connect-src"] == "'self'", path
    hidden = f"/admin/operations/{world.runs.other.id}"
    for path in (hidden, "/no-such-page", "/admin/operations?activeTab=nope"):
        response = send(app, client, "GET", path)
        assert response.status_code in (400, 404), path
        assert response.headers["Cache-Control"] == "no-store", path


def test_every_api_answer_is_no_store(app, world):
    client = app.test_client()
    bearer = {"Authorization": f"Bearer {world.tokens.own}"}
    answers = [
        send(app, client, "GET", "/api/v1/runs", headers=bearer),
        send(app, client, "GET", f"/api/v1/runs/{world.runs.running.id}", headers=bearer),
        send(app, client, "GET", f"/api/v1/runs/{world.runs.other.id}", headers=bearer),
        send(app, client, "GET", "/api/v1/runs"),
        send(app, client, "POST", "/api/v1/runs", headers=bearer, json={"type": "nope"}),
        send(app, client, "GET", "/api/v1/nowhere", headers=bearer),
    ]
    assert [a.status_code for a in answers] == [200, 200, 404, 401, 422, 404]
    for answer in answers:
        assert answer.headers["Cache-Control"] == "no-store"
        assert csp(answer)["connect-src"] == "'self'"


def test_anonymous_pages_and_static_files_may_be_cached(app, world):
    anonymous = send(app, app.test_client(), "GET", "/login")
    assert anonymous.status_code == 200 and "no-store" not in anonymous.headers.get(
        "Cache-Control", ""
    )
    client = sign_in_as(app.test_client(), world.users.owner)
    static = send(app, client, "GET", "/static/css/app.css")
    static.close()
    assert static.status_code == 200
    assert "no-store" not in static.headers.get("Cache-Control", "")


@pytest.fixture
def production(monkeypatch):
    """Build a production app from the environment (SQLite, random secrets)."""

    def build(**env):
        monkeypatch.setenv("DATABASE_URL", "sqlite://")
        monkeypatch.setenv("SECRET_KEY", secrets.token_hex(32))
        monkeypatch.setenv("RUNWARDEN_RECONCILER", "off")
        for name in ("METRICS_TOKEN", "RUNWARDEN_METRICS_PUBLIC"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        application = create_app(ProductionConfig)
        with application.app_context():
            from app.extensions import db

            db.create_all()
        return application

    return build


def metrics_status(app, environ, headers=None):
    with app.app_context():
        return app.test_client().get("/metrics", environ_base=environ, headers=headers).status_code


def test_production_metrics_without_a_token_answer_nobody(production):
    app = production()
    # behind a local reverse proxy every client is loopback: loopback is no credential
    assert metrics_status(app, LOOPBACK) == 404
    assert metrics_status(app, REMOTE) == 404


def test_production_metrics_opened_explicitly(production):
    app = production(RUNWARDEN_METRICS_PUBLIC="1")
    assert metrics_status(app, REMOTE) == 200
    assert metrics_status(app, LOOPBACK) == 200


def test_production_metrics_with_a_token_need_it_even_when_opened(production):
    token = secrets.token_hex(16)
    app = production(METRICS_TOKEN=token, RUNWARDEN_METRICS_PUBLIC="1")
    assert metrics_status(app, LOOPBACK) == 403
    assert metrics_status(app, REMOTE, {"Authorization": "Bearer wrong"}) == 403
    assert metrics_status(app, REMOTE, {"Authorization": f"Bearer {token}"}) == 200


def test_development_metrics_stay_loopback_only(app):
    assert metrics_status(app, LOOPBACK) == 200
    assert metrics_status(app, REMOTE) == 403
