"""Response headers, markup under the Content-Security-Policy, cookies, the production
secret, session fixation and error bodies."""

import re

import pytest

import app.blueprints.api.routes as api_routes
import app.pages.detail as detail_page
from app import create_app
from app.extensions import db as _db
from app.operations.accounts import create_user
from config import ConfigError, ProductionConfig
from tests.security.conftest import html_pages, markup_problems, send, sign_in_as

MIN = 60
SECRET_DETAIL = "SECRET-DETAIL in /srv/runwarden/app/internal.py line 42"
REFERRER_POLICIES = ("same-origin", "strict-origin-when-cross-origin", "no-referrer")
NOT_HTML_ENDPOINTS = {"static", "monitoring.healthz", "monitoring.readyz", "monitoring.metrics"}


def check_headers(response, where):
    headers = response.headers
    csp = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
    assert csp["script-src"] == "'self'", where
    assert csp["frame-ancestors"] == "'none'", where
    assert csp["object-src"] == "'none'", where
    assert "unsafe-inline" not in headers["Content-Security-Policy"], where
    assert "unsafe-eval" not in headers["Content-Security-Policy"], where
    assert headers["X-Content-Type-Options"] == "nosniff", where
    assert headers["X-Frame-Options"] == "DENY", where
    assert headers["Referrer-Policy"] in REFERRER_POLICIES, where


def check_html(response, where):
    check_headers(response, where)
    assert response.mimetype == "text/html", where
    assert response.mimetype_params.get("charset") == "utf-8", where
    html = response.get_data(as_text=True)
    assert markup_problems(html) == [], where
    for form in re.findall(r'<form[^>]*method="post".*?</form>', html, re.S | re.I):
        assert re.search(r'<input type="hidden" name="csrf_token" value="[^"]+"', form), where


def test_every_html_page_has_the_headers_and_no_inline_script(app, world, states):
    client = sign_in_as(app.test_client(), world.users.owner)
    pages = html_pages(world, states)
    seen = set()
    adapter = app.url_map.bind("localhost")
    for path in pages:
        response = send(app, client, "GET", path)
        assert response.status_code == 200, path
        check_html(response, path)
        seen.add(adapter.match(path.partition("?")[0])[0])
    html_endpoints = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods
        and not rule.websocket
        and rule.endpoint not in NOT_HTML_ENDPOINTS
        and not rule.endpoint.startswith("api.")
        and rule.endpoint != "auth.login"
    }
    assert html_endpoints - seen == set(), "pages not checked for headers and inline script"


def test_sign_in_error_and_redirect_pages_have_the_headers(app, world):
    client = app.test_client()
    answers = {
        "/login": 200,
        "/admin": 302,
        "/no-such-page": 404,
        "/logout": 405,
    }
    for path, status in answers.items():
        response = send(app, client, "GET", path)
        assert response.status_code == status, path
        check_html(response, path)
    failed = send(app, client, "POST", "/login", data={"email": "x@example.test", "password": "p"})
    assert failed.status_code == 422
    check_html(failed, "failed sign-in")
    owner = sign_in_as(app.test_client(), world.users.owner)
    bad = send(app, owner, "GET", "/admin/operations?activeTab=nope")
    assert bad.status_code == 400
    check_html(bad, "400")


def test_json_answers_have_the_headers_too(app, world):
    client = app.test_client()
    bearer = {"Authorization": f"Bearer {world.tokens.own}"}
    for path, headers in (("/healthz", {}), ("/api/v1/runs", bearer), ("/api/v1/runs", {})):
        response = send(app, client, "GET", path, headers=headers)
        assert response.mimetype == "application/json", path
        check_headers(response, path)


def session_cookie_attributes(response):
    cookie = next(
        value for value in response.headers.getlist("Set-Cookie") if value.startswith("session=")
    )
    return {part.strip().split("=")[0].lower(): part for part in cookie.split(";")[1:]}


def test_session_cookie_is_httponly_and_samesite_lax(app, world):
    data = {"email": world.users.owner.email, "password": "password"}
    response = send(app, app.test_client(), "POST", "/login", data=data)
    assert response.status_code == 302
    attributes = session_cookie_attributes(response)
    assert "httponly" in attributes
    assert attributes["samesite"].strip().lower() == "samesite=lax"
    assert "secure" not in attributes  # plain HTTP in development and tests


@pytest.fixture
def production_app(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    monkeypatch.setenv("SECRET_KEY", "k" * 48)
    monkeypatch.setenv("RUNWARDEN_RECONCILER", "off")
    application = create_app(ProductionConfig)
    with application.app_context():
        _db.create_all()
        create_user("ada@example.test", "correct horse battery", "Ada")
        _db.session.commit()
        yield application
        _db.session.remove()
        _db.drop_all()
        _db.engine.dispose()


def test_production_cookies_are_secure_and_https_is_pinned(production_app):
    client = production_app.test_client()
    base = "https://runwarden.example"
    page = send(production_app, client, "GET", "/login", base_url=base)
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    data = {"email": "ada@example.test", "password": "correct horse battery"}
    data["csrf_token"] = token.group(1)
    referer = {"Referer": f"{base}/login"}  # CSRF over HTTPS also checks the referrer
    response = send(
        production_app, client, "POST", "/login", data=data, base_url=base, headers=referer
    )
    assert response.status_code == 302
    attributes = session_cookie_attributes(response)
    assert {"secure", "httponly", "samesite"} <= set(attributes)
    assert attributes["samesite"].strip().lower() == "samesite=lax"
    assert production_app.config["REMEMBER_COOKIE_SECURE"] is True
    assert production_app.config["WTF_CSRF_ENABLED"] is not False


@pytest.mark.parametrize(
    "secret", [None, "", "dev-only-not-secret", "short", "x" * 31], ids=lambda s: repr(s)[:12]
)
def test_production_refuses_a_default_or_short_secret(monkeypatch, secret):
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    if secret is None:
        monkeypatch.delenv("SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("SECRET_KEY", secret)
    with pytest.raises(ConfigError):
        ProductionConfig()
    with pytest.raises(ConfigError):
        create_app(ProductionConfig)


def test_sign_in_replaces_the_session(app, world):
    client = app.test_client()
    send(app, client, "GET", "/login")  # a session with a CSRF secret, as any visitor gets
    with app.app_context(), client.session_transaction() as session:
        session["planted"] = "by whoever handed this cookie out"
        before_csrf = session.get("csrf_token")
    before = client.get_cookie("session").value
    data = {"email": world.users.owner.email, "password": "password"}
    assert send(app, client, "POST", "/login", data=data).status_code == 302
    assert client.get_cookie("session").value != before
    with app.app_context(), client.session_transaction() as session:
        assert "planted" not in session
        assert before_csrf is not None and session.get("csrf_token") != before_csrf
        assert session["_user_id"] == str(world.users.owner.id)
    # Whoever kept the pre-sign-in cookie holds an anonymous session, not the user's.
    fixed = app.test_client()
    fixed.set_cookie("session", before)
    response = send(app, fixed, "GET", "/admin")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_sign_out_clears_the_session(app, world):
    client = sign_in_as(app.test_client(), world.users.owner)
    assert send(app, client, "GET", "/admin").status_code == 200
    assert send(app, client, "POST", "/logout").status_code == 302
    assert send(app, client, "GET", "/admin").status_code == 302


def _explode(*args, **kwargs):
    raise RuntimeError(SECRET_DETAIL)


def assert_no_leak(response):
    body = response.get_data(as_text=True)
    for marker in (SECRET_DETAIL, "RuntimeError", "Traceback", 'File "', "/srv/", ".py"):
        assert marker not in body, marker


@pytest.fixture
def errors_answered(app):
    """Unhandled exceptions reach the error handlers, as in production."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def test_api_500_is_json_without_the_exception(errors_answered, world, monkeypatch):
    app = errors_answered
    monkeypatch.setattr(api_routes, "run_to_json", _explode)
    bearer = {"Authorization": f"Bearer {world.tokens.own}"}
    for path in (f"/api/v1/runs/{world.runs.running.id}", "/api/v1/runs"):
        response = send(app, app.test_client(), "GET", path, headers=bearer)
        assert response.status_code == 500
        assert response.get_json() == {
            "error": {"code": "internal_error", "message": "internal error", "fields": {}}
        }
        assert_no_leak(response)
        check_headers(response, path)


def test_api_500_before_the_view_is_json_too(errors_answered, world, monkeypatch):
    app = errors_answered
    monkeypatch.setattr("app.blueprints.api.auth.verify_token", _explode)
    bearer = {"Authorization": f"Bearer {world.tokens.own}"}
    response = send(app, app.test_client(), "POST", "/api/v1/runs", headers=bearer, json={})
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal_error"
    assert_no_leak(response)


def test_page_500_shows_the_error_page_without_the_exception(errors_answered, world, monkeypatch):
    app = errors_answered
    monkeypatch.setattr(detail_page, "run_detail", _explode)
    client = sign_in_as(app.test_client(), world.users.owner)
    response = send(app, client, "GET", f"/admin/operations/{world.runs.running.id}")
    assert response.status_code == 500
    assert "Something went wrong" in response.get_data(as_text=True)
    assert_no_leak(response)
    check_html(response, "500 page")


def test_production_neither_debugs_nor_propagates_errors(production_app):
    assert production_app.debug is False
    assert production_app.testing is False
    assert not production_app.config.get("PROPAGATE_EXCEPTIONS")


def test_every_post_outside_the_api_needs_the_csrf_token(app, world):
    app.config["WTF_CSRF_ENABLED"] = True
    posts = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "POST" in rule.methods and not rule.endpoint.startswith("api.")
    }
    paths = {
        "auth.login": "/login",
        "auth.logout": "/logout",
        "workspace.select": f"/admin/workspaces/{world.ws.id}/select",
        "notifications.new_channel": "/admin/notifications/new",
        "notifications.edit_channel": f"/admin/notifications/{world.notify.channel.id}/edit",
        "notifications.disable_channel": f"/admin/notifications/{world.notify.channel.id}/disable",
        "notifications.enable_channel": f"/admin/notifications/{world.notify.channel.id}/enable",
        "notifications.test_channel": f"/admin/notifications/{world.notify.channel.id}/test",
        "notifications.add_mute": "/admin/notifications/mutes",
        "notifications.end_mute": f"/admin/notifications/mutes/{world.notify.mute.id}/end",
    }
    assert posts == set(paths), "a new form route: add it here"
    data = {"email": world.users.owner.email, "password": "password", "csrf_token": "forged"}
    for signed_in in (False, True):
        client = app.test_client()
        if signed_in:
            sign_in_as(client, world.users.owner)
        for path in paths.values():
            for body in (data, {k: v for k, v in data.items() if k != "csrf_token"}):
                response = send(app, client, "POST", path, data=body)
                assert response.status_code == 400, (path, signed_in, body)
                check_html(response, path)
        with app.app_context(), client.session_transaction() as session:
            assert session.get("_user_id") == (str(world.users.owner.id) if signed_in else None)
            assert "workspace_id" not in session
