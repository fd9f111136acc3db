"""Sign in and sign out: credentials, CSRF, safe redirects, session fixation."""

import re

import pytest
from flask_wtf.csrf import generate_csrf

from app.blueprints.auth.routes import LOGIN_FAILED, safe_next
from app.operations.accounts import create_user

PASSWORD = "correct horse"


@pytest.fixture
def user(db):
    user = create_user("Ada@Example.com", PASSWORD, "Ada")
    db.session.commit()
    return user


def sign_in(client, email="ada@example.com", password=PASSWORD, **query):
    return client.post("/login", data={"email": email, "password": password}, query_string=query)


def signed_in_user_id(client):
    with client.session_transaction() as session:
        return session.get("_user_id")


def csrf_token_from(page):
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert match, "the login form carries a hidden csrf_token"
    return match.group(1)


def test_login_form_has_the_stable_hooks(client):
    page = client.get("/login")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert re.search(r'<input[^>]+name="email"', html)
    assert re.search(
        r'<input[^>]+name="password"[^>]*type="password"|type="password"[^>]+name="password"', html
    )
    assert re.search(r'<input type="hidden" name="csrf_token" value="[^"]+"', html)
    assert '<label for="email">' in html and '<label for="password">' in html


def test_valid_credentials_sign_in_and_land_on_admin(client, user, app):
    response = sign_in(client, email="  ADA@example.COM ")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin"
    assert signed_in_user_id(client) == str(user.id)
    assert user.password_hash.startswith(app.config["PASSWORD_HASH_METHOD"] + "$")
    assert PASSWORD not in user.password_hash


@pytest.mark.parametrize(
    "email, password",
    [("ada@example.com", "wrong password"), ("nobody@example.com", PASSWORD), ("", "")],
)
def test_failures_say_the_same_generic_thing(client, user, email, password):
    response = sign_in(client, email=email, password=password)
    assert response.status_code == 422
    assert LOGIN_FAILED in response.get_data(as_text=True)
    assert signed_in_user_id(client) is None


def test_an_inactive_user_cannot_sign_in(client, user, db):
    user.active = False
    db.session.commit()
    assert sign_in(client).status_code == 422
    assert signed_in_user_id(client) is None


def test_csrf_refuses_a_post_without_the_token(client, user, app):
    app.config["WTF_CSRF_ENABLED"] = True
    refused = sign_in(client)
    assert refused.status_code == 400
    assert signed_in_user_id(client) is None

    token = csrf_token_from(client.get("/login"))
    accepted = client.post(
        "/login", data={"email": "ada@example.com", "password": PASSWORD, "csrf_token": token}
    )
    assert accepted.status_code == 302
    assert signed_in_user_id(client) == str(user.id)


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/admin",
        "https://evil.example/admin",
        "http:/evil.example",
        "javascript:alert(1)",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "evil.example/admin",
        "",
    ],
)
def test_next_never_leaves_the_host(client, user, target):
    response = sign_in(client, next=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin"


def test_next_keeps_a_local_path_with_its_query(client, user):
    target = "/admin/operations?activeTab=active_stale_attention&tenant_id=3"
    response = sign_in(client, next=target)
    assert response.headers["Location"] == target


def test_the_form_posts_back_to_a_safe_next_only(client):
    assert 'action="/login?next=/admin/operations"' in client.get(
        "/login?next=/admin/operations"
    ).get_data(as_text=True)
    assert 'action="/login"' in client.get("/login?next=//evil.example").get_data(as_text=True)


def test_sign_in_starts_a_new_session(client, user):
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    before = client.get_cookie("session").value
    sign_in(client)
    after = client.get_cookie("session").value
    assert after != before
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] == str(user.id)


def test_a_signed_in_user_visiting_login_is_sent_on(client, user):
    sign_in(client)
    assert client.get("/login").headers["Location"] == "/admin"
    assert client.get("/login?next=/admin/workspaces").headers["Location"] == "/admin/workspaces"
    assert client.get("/login?next=//evil.example").headers["Location"] == "/admin"


def test_logout_is_post_only_and_ends_the_session(client, user):
    sign_in(client)
    assert client.get("/logout").status_code == 405
    assert signed_in_user_id(client) == str(user.id)
    response = client.post("/logout")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert signed_in_user_id(client) is None


def test_logout_needs_the_csrf_token(client, user, app):
    app.add_url_rule("/test-csrf-token", "test_csrf_token", generate_csrf)
    sign_in(client)
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post("/logout").status_code == 400
    assert signed_in_user_id(client) == str(user.id)
    token = client.get("/test-csrf-token").get_data(as_text=True)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert signed_in_user_id(client) is None


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/admin", "/admin"),
        ("/admin/t/abc?x=1#frag", "/admin/t/abc?x=1#frag"),
        ("//evil.example", None),
        ("///evil.example", None),
        ("/\\evil.example", None),
        ("https://evil.example", None),
        ("/ok\r\nSet-Cookie: x=1", None),
        ("relative/path", None),
        (None, None),
    ],
)
def test_safe_next(target, expected):
    assert safe_next(target) == expected
