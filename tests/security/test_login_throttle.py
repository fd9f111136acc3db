"""Sign-in throttling: per account and per client address, POST only, 429 with the same
generic page and a Retry-After, recovering when the window has passed."""

import re
import time

import pytest
from limits.errors import ConfigurationError

from app import create_app
from app.blueprints.auth.routes import LOGIN_FAILED, LOGIN_THROTTLED
from app.extensions import db as _db
from app.extensions import limiter
from config import TestConfig
from tests.factories import make_user
from tests.security.conftest import markup_problems, send

PASSWORD = "password"  # tests.factories.T_HASH
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20


class MovingClock:
    """The wall clock the limiter's storage reads, moved forward by tests instead of sleeping."""

    def __init__(self, monkeypatch):
        self.offset = 0.0
        real = time.time
        monkeypatch.setattr(time, "time", lambda: real() + self.offset)

    def advance(self, seconds):
        self.offset += seconds


@pytest.fixture
def app(app):
    """The test app with the limiter switched on as in production, its storage empty."""
    app.config["RATELIMIT_ENABLED"] = True
    limiter.init_app(app)
    limiter.reset()
    yield app
    limiter.reset()


@pytest.fixture
def wall(monkeypatch):
    return MovingClock(monkeypatch)


@pytest.fixture
def ada(db):
    return make_user(email="ada@example.test")


def attempt(app, email, password="wrong password", address="192.0.2.1", **kwargs):
    client = kwargs.pop("client", None) or app.test_client()
    data = {"email": email, "password": password}
    environ = {"REMOTE_ADDR": address}
    return send(app, client, "POST", "/login", data=data, environ_base=environ, **kwargs)


def exhaust_account(app, email, address="192.0.2.1"):
    for _ in range(ACCOUNT_LIMIT):
        assert attempt(app, email, address=address).status_code == 422


def generic_page(response):
    """The page without what differs per request (the echoed email and the CSRF token)."""
    html = response.get_data(as_text=True)
    html = re.sub(r'name="csrf_token" value="[^"]*"', "", html)
    return re.sub(r'name="email"([^>]*)value="[^"]*"', r'name="email"\1', html)


def assert_throttled(response):
    assert response.status_code == 429
    assert LOGIN_THROTTLED in response.get_data(as_text=True)
    assert LOGIN_FAILED not in response.get_data(as_text=True)
    retry = int(response.headers["Retry-After"])
    assert 1 <= retry <= 60
    return retry


def test_an_account_is_throttled_after_five_attempts(app, ada, wall):
    exhaust_account(app, "ada@example.test")
    assert_throttled(attempt(app, "ada@example.test"))
    client = app.test_client()
    right = attempt(app, "ada@example.test", PASSWORD, client=client)
    assert_throttled(right)
    with app.app_context(), client.session_transaction() as session:
        assert "_user_id" not in session


def test_the_account_key_is_the_normalized_email(app, ada, wall):
    for email in ("ADA@example.test", " ada@EXAMPLE.test ", "Ada@Example.Test", "ada@example.test"):
        assert attempt(app, email).status_code == 422
    assert attempt(app, "ada@example.test\t").status_code == 422
    assert_throttled(attempt(app, "aDa@example.test"))


def test_unknown_accounts_get_the_same_answer(app, ada, wall):
    exhaust_account(app, "ada@example.test", address="192.0.2.1")
    exhaust_account(app, "nobody@example.test", address="192.0.2.2")
    known = attempt(app, "ada@example.test", address="192.0.2.1")
    unknown = attempt(app, "nobody@example.test", address="192.0.2.2")
    assert_throttled(known)
    assert_throttled(unknown)
    assert generic_page(known) == generic_page(unknown)


def test_other_accounts_still_sign_in(app, ada, wall):
    bob = make_user(email="bob@example.test")
    exhaust_account(app, "ada@example.test")
    response = attempt(app, bob.email, PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/admin"


def test_a_successful_sign_in_starts_the_account_count_afresh(app, ada, wall):
    for _ in range(ACCOUNT_LIMIT - 1):
        assert attempt(app, "ada@example.test").status_code == 422
    assert attempt(app, "ada@example.test", PASSWORD).status_code == 302
    exhaust_account(app, "ada@example.test")
    assert_throttled(attempt(app, "ada@example.test"))


def test_a_valid_account_buys_no_extra_guesses_for_its_address(app, ada, wall):
    for n in range(ADDRESS_LIMIT - 1):
        assert attempt(app, f"user{n}@example.test", address="198.51.100.7").status_code == 422
    assert attempt(app, "ada@example.test", PASSWORD, address="198.51.100.7").status_code == 302
    assert_throttled(attempt(app, "victim@example.test", address="198.51.100.7"))


def test_an_address_is_throttled_across_accounts(app, wall):
    for n in range(ADDRESS_LIMIT):
        assert attempt(app, f"user{n}@example.test", address="198.51.100.7").status_code == 422
    spoofed = {"X-Forwarded-For": "203.0.113.99", "X-Real-IP": "203.0.113.99"}
    refused = attempt(app, "fresh@example.test", address="198.51.100.7", headers=spoofed)
    assert_throttled(refused)
    assert attempt(app, "fresh@example.test", address="198.51.100.8").status_code == 422


def test_the_page_itself_is_never_throttled(app, ada, wall):
    exhaust_account(app, "ada@example.test")
    assert_throttled(attempt(app, "ada@example.test"))
    page = send(app, app.test_client(), "GET", "/login", environ_base={"REMOTE_ADDR": "192.0.2.1"})
    assert page.status_code == 200


def test_throttling_recovers_when_the_window_has_passed(app, ada, wall):
    exhaust_account(app, "ada@example.test")
    first = assert_throttled(attempt(app, "ada@example.test"))
    wall.advance(45)
    later = assert_throttled(attempt(app, "ada@example.test"))
    assert later <= first - 44
    wall.advance(later + 1)
    response = attempt(app, "ada@example.test", PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/admin"


def test_an_address_recovers_too(app, wall):
    for n in range(ADDRESS_LIMIT):
        attempt(app, f"user{n}@example.test", address="198.51.100.7")
    assert_throttled(attempt(app, "next@example.test", address="198.51.100.7"))
    wall.advance(61)
    assert attempt(app, "next@example.test", address="198.51.100.7").status_code == 422


def test_the_throttled_page_keeps_the_headers_and_a_safe_next(app, ada, wall):
    exhaust_account(app, "ada@example.test")
    for target, action in (
        ("/admin/operations", "/login?next=/admin/operations"),
        ("//evil.example", "/login"),
    ):
        response = attempt(app, "ada@example.test", query_string={"next": target})
        assert_throttled(response)
        html = response.get_data(as_text=True)
        assert f'action="{action}"' in html
        assert markup_problems(html) == []
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_limits_come_from_the_configuration(app, ada, wall):
    app.config["LOGIN_LIMIT_PER_ACCOUNT"] = "2/minute"
    assert attempt(app, "ada@example.test").status_code == 422
    assert attempt(app, "ada@example.test").status_code == 422
    assert_throttled(attempt(app, "ada@example.test"))


def test_the_storage_comes_from_the_configuration(monkeypatch):
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "no-such-store://somewhere")
    config = TestConfig()
    config.RATELIMIT_ENABLED = True
    with pytest.raises(ConfigurationError, match="no-such-store://somewhere"):
        create_app(config)


def test_the_test_configuration_does_not_throttle():
    plain = create_app(TestConfig())
    with plain.app_context():
        _db.create_all()
        codes = {attempt(plain, "ada@example.test").status_code for _ in range(ACCOUNT_LIMIT + 3)}
        _db.session.remove()
        _db.engine.dispose()
    assert codes == {422}
