"""A process trusts a verified token for API_TOKEN_CACHE_SECONDS: a token revoked by
another process is refused within that bound, at once in the process that revoked it."""

import threading

import pytest
import sqlalchemy as sa

from app.extensions import db as _db
from app.models import ApiToken
from app.operations import tokens
from app.operations.tokens import create_token, revoke_token, verify_token
from tests.api.conftest import ApiClient, error_of
from tests.conftest import counted

BOUND = 5


def revoke_elsewhere(db, token_id, at):
    """What ``flask tokens revoke`` in another process does: only the row changes."""
    db.session.execute(sa.update(ApiToken).where(ApiToken.id == token_id).values(revoked_at=at))
    db.session.commit()


def token_reads(db, call):
    """How many times ``call`` read a token row."""
    with counted(db) as seen:
        call()
    return sum("FROM api_tokens" in statement for statement in seen)


def test_the_default_bound_is_five_seconds(app):
    assert app.config["API_TOKEN_CACHE_SECONDS"] == BOUND == tokens.TOKEN_CACHE_SECONDS


def test_a_token_revoked_elsewhere_answers_until_the_bound_then_401(api, db, issued, clock):
    assert api.get("/api/v1/runs").status_code == 200  # verified and kept at T0
    revoke_elsewhere(db, issued.token.id, clock.now())
    clock.advance(BOUND - 1)
    assert api.get("/api/v1/runs").status_code == 200  # 1 s before the bound: still kept
    clock.advance(1)
    error_of(api.get("/api/v1/runs"), 401, "token_invalid")  # at the bound: read again
    clock.advance(-1)
    error_of(api.get("/api/v1/runs"), 401, "token_invalid")  # a refused token is not kept


def test_a_token_revoked_in_this_process_is_refused_at_once(api, db, issued, clock):
    assert api.get("/api/v1/runs").status_code == 200
    revoke_token(db.session.get(ApiToken, issued.token.id), now=clock.now())
    error_of(api.get("/api/v1/runs"), 401, "token_invalid")


def test_a_kept_token_is_not_read_again_within_the_bound(api, db, issued, clock):
    assert token_reads(db, lambda: api.get("/api/v1/runs")) == 1
    clock.advance(BOUND - 1)
    assert token_reads(db, lambda: api.get("/api/v1/runs")) == 0
    clock.advance(1)
    assert token_reads(db, lambda: api.get("/api/v1/runs")) == 1


def test_a_clock_set_back_reads_the_token_again(api, db, issued, clock):
    assert api.get("/api/v1/runs").status_code == 200
    revoke_elsewhere(db, issued.token.id, clock.now())
    clock.advance(-1)
    error_of(api.get("/api/v1/runs"), 401, "token_invalid")


def test_a_zero_bound_reads_the_token_on_every_call(app, api, db, issued, clock):
    app.config["API_TOKEN_CACHE_SECONDS"] = 0
    assert api.get("/api/v1/runs").status_code == 200
    revoke_elsewhere(db, issued.token.id, clock.now())
    error_of(api.get("/api/v1/runs"), 401, "token_invalid")


def test_unknown_tokens_are_never_kept(app, db, workspace, clock):
    for n in range(50):
        assert verify_token(f"rw_unknown-{n}", now=clock.now()) is None
    assert app.extensions.get("runwarden.verified_tokens", {}) == {}


def test_the_cache_starts_over_when_full(app, db, workspace, clock, monkeypatch):
    monkeypatch.setattr(tokens, "TOKEN_CACHE_SIZE", 2)
    issued = [create_token(workspace, f"w{n}", now=clock.now()) for n in range(3)]
    for one in issued:
        assert verify_token(one.secret, now=clock.now()).id == one.token.id
    kept = app.extensions["runwarden.verified_tokens"]
    assert len(kept) == 1 and tokens.hash_secret(issued[2].secret) in kept
    for one in issued:  # every token still verifies, read again where it was dropped
        assert verify_token(one.secret, now=clock.now()).id == one.token.id


@pytest.mark.parametrize("value", ["-1", "1.5", "five"])
def test_a_bad_bound_is_refused_at_start(monkeypatch, value):
    from config import Config, ConfigError

    monkeypatch.setenv("API_TOKEN_CACHE_SECONDS", value)
    with pytest.raises(ConfigError, match="API_TOKEN_CACHE_SECONDS"):
        Config()


def _concurrently(app, secret, callers=8):
    """The status of ``GET /api/v1/runs`` by ``callers`` threads at once."""
    barrier, answers = threading.Barrier(callers), [None] * callers

    def call(i):
        with app.app_context():
            client = ApiClient(app.test_client(), secret)
            barrier.wait(timeout=30)
            answers[i] = client.get("/api/v1/runs").status_code
            _db.session.remove()

    threads = [threading.Thread(target=call, args=(i,)) for i in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_concurrent_calls_share_the_kept_token_and_its_bound(app, db, issued, clock):
    assert _concurrently(app, issued.secret) == [200] * 8
    revoke_elsewhere(db, issued.token.id, clock.now())
    clock.advance(BOUND - 1)
    assert _concurrently(app, issued.secret) == [200] * 8
    clock.advance(1)
    assert _concurrently(app, issued.secret) == [401] * 8
