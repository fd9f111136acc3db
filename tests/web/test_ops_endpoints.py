"""Health, readiness, metrics and security headers."""

import sqlalchemy as sa

from app import create_app
from app.models import ReconcilerPass
from app.operations import freshness as fr
from config import TestConfig
from tests.conftest import T0
from tests.factories import make_run, make_workspace


def test_healthz_needs_no_database():
    app = create_app(TestConfig("sqlite:////nonexistent-dir/nowhere.db"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_ok_when_database_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


def test_readyz_503_when_database_is_down():
    app = create_app(TestConfig("sqlite:////nonexistent-dir/nowhere.db"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "reason": "database unreachable"}


def test_metrics_report_active_runs_by_freshness(client, db):
    ws = make_workspace()
    make_run(ws, now=T0, age=10)
    make_run(ws, now=T0, age=700, heartbeat_ago=10)  # baseline_compare: past expected at 600 s
    make_run(ws, now=T0, age=99999)
    make_run(ws, now=T0, status="completed", reconciled=True)
    client.get("/healthz")
    body = client.get("/metrics").get_data(as_text=True)
    for state in (fr.FRESH, fr.PAST_EXPECTED, fr.LIKELY_STALE):
        assert f'runwarden_runs_active{{freshness="{state}"}} 1.0' in body
    assert 'runwarden_runs_reconciled_total{reason="stale_no_heartbeat"} 1.0' in body
    assert "runwarden_http_request_duration_seconds_bucket" in body
    assert "tenant" not in body


def test_metrics_refused_from_other_addresses(client):
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert response.status_code == 403


def test_metrics_token_when_configured(app, client):
    app.config["METRICS_TOKEN"] = "s3cret-token"
    assert client.get("/metrics").status_code == 403
    ok = client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert ok.status_code == 200
    bad = client.get("/metrics", headers={"Authorization": "Bearer s3cret-tokeN"})
    assert bad.status_code == 403


def test_security_headers_on_every_response(client):
    for path in ("/healthz", "/login", "/no-such-page"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1]
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"


def test_production_environment_selects_production_config(monkeypatch):
    import pytest

    from config import ConfigError

    monkeypatch.setenv("RUNWARDEN_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError):
        create_app()
    monkeypatch.setenv("SECRET_KEY", "x" * 31)
    with pytest.raises(ConfigError):
        create_app()
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_behind_a_proxy_the_client_address_comes_from_x_forwarded_for(monkeypatch):
    monkeypatch.setenv("RUNWARDEN_PROXY_HOPS", "1")
    app = create_app(TestConfig("sqlite://"))
    client = app.test_client()
    proxied = {"REMOTE_ADDR": "127.0.0.1"}
    # a remote client reaching /metrics through a local proxy is not "loopback"
    forwarded = client.get(
        "/metrics", environ_base=proxied, headers={"X-Forwarded-For": "203.0.113.9"}
    )
    assert forwarded.status_code == 403


def _finished_pass(db, finished_ago):
    from datetime import timedelta

    from app.models import ReconcilerPass

    finished = T0 - timedelta(seconds=finished_ago)
    db.session.add(
        ReconcilerPass(
            started_at=finished - timedelta(seconds=1),
            finished_at=finished,
            holder="test",
            scanned=0,
            reconciled=0,
            skipped=0,
            error_count=0,
        )
    )
    db.session.commit()


def test_readyz_503_while_the_reconciler_is_silent(app, client, db):
    app.config.update(RUNWARDEN_RECONCILER="external", RECONCILER_STALE_AFTER_SECONDS=120)
    never = client.get("/readyz")
    assert never.status_code == 503
    assert "has not finished a pass" in never.get_json()["reason"]
    _finished_pass(db, finished_ago=120)  # exactly at the configured window: still ready
    assert client.get("/readyz").status_code == 200
    db.session.execute(sa.delete(ReconcilerPass))
    _finished_pass(db, finished_ago=121)
    silent = client.get("/readyz")
    assert silent.status_code == 503
    assert silent.get_json()["status"] == "unavailable"
    assert "looks stale" in silent.get_json()["reason"]
