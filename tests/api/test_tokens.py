"""API tokens: hashed storage, verification, revocation, last use, and the CLI."""

import hashlib
import json

import pytest
import sqlalchemy as sa

from app.models import ApiToken
from app.operations.tokens import (
    PREFIX_LENGTH,
    TokenError,
    create_token,
    find_token,
    revoke_token,
    verify_token,
)
from tests.conftest import T0


def test_only_the_hash_and_a_prefix_are_stored(db, workspace, clock):
    issued = create_token(workspace, "  nightly sync  ", now=clock.now())
    row = db.session.scalar(sa.select(ApiToken))
    assert issued.secret.startswith("rw_") and len(issued.secret) > 40
    assert row.token_hash == hashlib.sha256(issued.secret.encode()).hexdigest()
    assert row.prefix == issued.secret[:PREFIX_LENGTH]
    assert issued.secret not in {row.token_hash, row.prefix, row.name}
    assert (row.name, row.workspace_id, row.created_at) == ("nightly sync", workspace.id, T0)


def test_secrets_are_random(db, workspace, clock):
    first = create_token(workspace, "a", now=clock.now()).secret
    second = create_token(workspace, "a", now=clock.now()).secret
    assert first != second


def test_verify(db, workspace, clock):
    issued = create_token(workspace, "w", now=clock.now())
    assert verify_token(issued.secret, now=clock.now()).id == issued.token.id
    assert verify_token(issued.secret + "x", now=clock.now()) is None
    assert verify_token(issued.secret[:-1], now=clock.now()) is None
    assert verify_token("", now=clock.now()) is None
    assert verify_token("rw_" + "a" * 500, now=clock.now()) is None


def test_revoked_token_never_verifies_again(db, workspace, clock):
    issued = create_token(workspace, "w", now=clock.now())
    assert revoke_token(issued.token, now=clock.now()) is True
    assert revoke_token(issued.token, now=clock.advance(10)) is False
    assert issued.token.revoked_at == T0
    assert verify_token(issued.secret, now=clock.now()) is None


def test_last_used_is_written_at_most_once_a_minute(db, workspace, clock):
    issued = create_token(workspace, "w", now=clock.now())
    assert issued.token.last_used_at is None
    verify_token(issued.secret, now=clock.now())
    assert db.session.get(ApiToken, issued.token.id).last_used_at == T0
    verify_token(issued.secret, now=clock.advance(59))
    assert db.session.get(ApiToken, issued.token.id).last_used_at == T0
    verify_token(issued.secret, now=clock.advance(1))
    assert db.session.get(ApiToken, issued.token.id).last_used_at == clock.now()


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_a_token_needs_a_sensible_name(db, workspace, clock, name):
    with pytest.raises(TokenError):
        create_token(workspace, name, now=clock.now())


def test_find_token_by_id_or_prefix(db, workspace, clock):
    token = create_token(workspace, "w", now=clock.now()).token
    assert find_token(str(token.id)) is token
    assert find_token(token.prefix) is token
    with pytest.raises(TokenError):
        find_token("rw_missing")
    with pytest.raises(TokenError):
        find_token("424242")


# --------------------------------------------------------------------------- CLI


def run_cli(app, *args):
    result = app.test_cli_runner().invoke(args=list(args))
    return result, result.stdout, result.stderr


def test_cli_create_prints_the_secret_once(app, db, workspace):
    result, out, _ = run_cli(app, "tokens", "create", "acme", "--name", "worker-7")
    assert result.exit_code == 0, result.output
    payload = json.loads(out)
    assert set(payload) == {
        "id",
        "name",
        "prefix",
        "workspace",
        "workspace_id",
        "created_at",
        "revoked_at",
        "secret",
    }
    assert payload["workspace"] == "acme" and payload["name"] == "worker-7"
    assert payload["created_at"] == "2026-11-26T12:00:00.000000Z"
    token = verify_token(payload["secret"], now=T0)
    assert token is not None and token.id == payload["id"]
    assert payload["secret"].startswith(payload["prefix"])


def test_created_token_works_on_the_api(app, client, db, workspace):
    _, out, _ = run_cli(app, "tokens", "create", "acme", "--name", "worker")
    secret = json.loads(out)["secret"]
    response = client.get("/api/v1/runs", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200


def test_cli_create_unknown_workspace(app, db):
    result, out, err = run_cli(app, "tokens", "create", "nope", "--name", "w")
    assert result.exit_code == 1
    assert out == ""
    assert json.loads(err) == {"error": "unknown workspace 'nope'", "workspace": "nope"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_cli_create_bad_name(app, db, workspace):
    result, out, err = run_cli(app, "tokens", "create", "acme", "--name", " ")
    assert result.exit_code == 1 and out == ""
    assert "name" in json.loads(err)["error"]


def test_cli_create_without_name_is_a_json_usage_error(app, db, workspace):
    result, out, err = run_cli(app, "tokens", "create", "acme")
    assert result.exit_code == 1 and out == ""
    assert "--name" in json.loads(err)["error"]


@pytest.mark.parametrize("by", ["id", "prefix"])
def test_cli_revoke(app, client, db, workspace, clock, by):
    issued = create_token(workspace, "w", now=clock.now())
    ref = str(issued.token.id) if by == "id" else issued.token.prefix
    clock.advance(30)
    result, out, _ = run_cli(app, "tokens", "revoke", ref)
    assert result.exit_code == 0, result.output
    payload = json.loads(out)
    assert payload["id"] == issued.token.id
    assert payload["revoked_at"] == "2026-11-26T12:00:30.000000Z"
    assert payload["already_revoked"] is False
    assert "secret" not in payload
    response = client.get("/api/v1/runs", headers={"Authorization": f"Bearer {issued.secret}"})
    assert response.status_code == 401
    again = json.loads(run_cli(app, "tokens", "revoke", ref)[1])
    assert again["already_revoked"] is True
    assert again["revoked_at"] == payload["revoked_at"]


@pytest.mark.parametrize("ref", ["999", "rw_unknown"])
def test_cli_revoke_unknown_token(app, db, ref):
    result, out, err = run_cli(app, "tokens", "revoke", ref)
    assert result.exit_code == 1 and out == ""
    error = json.loads(err)
    assert error["token"] == ref and "no token" in error["error"]
