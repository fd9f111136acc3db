"""API tokens: a random secret shown once, stored only as its sha256 hash and a short prefix.

A token is bound to one workspace and can be revoked; a revoked token never verifies again.
Each web process keeps a verified token for at most ``API_TOKEN_CACHE_SECONDS`` (default 5)
before it reads the token again, so a token revoked elsewhere (``flask tokens revoke``,
another process) is refused by every process within that many seconds, and at once by the
process that revoked it.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.models import ApiToken

SECRET_MARK = "rw_"
PREFIX_LENGTH = len(SECRET_MARK) + 8
MAX_SECRET_LENGTH = 200
NAME_MAX_LENGTH = 100
# last_used_at is bookkeeping: write it at most once per interval, not on every request.
LAST_USED_RESOLUTION = timedelta(seconds=60)
TOKEN_CACHE_SECONDS = 5
# Verified tokens a process keeps at most (one per worker token in use): beyond it the
# cache starts over, so a flood of distinct tokens cannot grow it.
TOKEN_CACHE_SIZE = 4096


class TokenError(ValueError):
    """A token that cannot be created, found or revoked."""


@dataclass(frozen=True)
class IssuedToken:
    """A new token and its secret; the secret exists only here and is never stored."""

    token: ApiToken
    secret: str


def hash_secret(secret):
    """The stored form of ``secret``."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(workspace, name, *, now):
    """Issue a token for ``workspace`` named ``name``; commit."""
    name = (name or "").strip()
    if not name:
        raise TokenError("a token needs a name")
    if len(name) > NAME_MAX_LENGTH:
        raise TokenError(f"a token name has at most {NAME_MAX_LENGTH} characters")
    secret = SECRET_MARK + secrets.token_urlsafe(32)
    token = ApiToken(
        workspace_id=workspace.id,
        name=name,
        prefix=secret[:PREFIX_LENGTH],
        token_hash=hash_secret(secret),
        created_at=now,
    )
    db.session.add(token)
    db.session.commit()
    return IssuedToken(token, secret)


def find_token(ref):
    """The token with id ``ref`` (digits) or prefix ``ref``; TokenError if none or ambiguous."""
    ref = str(ref).strip()
    if ref.isdigit():
        token = db.session.get(ApiToken, int(ref))
        if token is None:
            raise TokenError(f"no token with id {ref}")
        return token
    matches = list(db.session.scalars(sa.select(ApiToken).where(ApiToken.prefix == ref).limit(2)))
    if not matches:
        raise TokenError(f"no token with id or prefix {ref!r}")
    if len(matches) > 1:
        raise TokenError(f"prefix {ref!r} matches several tokens; use the token id")
    return matches[0]


def revoke_token(token, *, now):
    """Revoke ``token`` (a no-op if already revoked); commit. Returns whether it changed."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = now
    db.session.commit()
    _verified().pop(token.token_hash, None)
    return True


# Every API call looks its token up: plain columns, the statement built once.
_BY_HASH = sa.select(ApiToken.__table__).where(
    ApiToken.token_hash == sa.bindparam("token_hash", type_=sa.String, required=True)
)


def token_cache_seconds():
    """How long a process trusts a verified token before reading it again (config
    ``API_TOKEN_CACHE_SECONDS``; 0 reads it on every call)."""
    return float(current_app.config.get("API_TOKEN_CACHE_SECONDS", TOKEN_CACHE_SECONDS))


def _verified():
    """This app's {token hash: [row, read at, last use written]} of verified tokens."""
    return current_app.extensions.setdefault("runwarden.verified_tokens", {})


def verify_token(secret, *, now):
    """The live token whose secret is ``secret`` (its row), or None (unknown, malformed or
    revoked).

    The lookup goes through the unique index on the hash; the final comparison is
    constant-time all the same. A token verified less than ``token_cache_seconds()`` ago
    is answered from this process's cache (only valid tokens are kept).
    """
    if not secret or len(secret) > MAX_SECRET_LENGTH or not secret.startswith(SECRET_MARK):
        return None
    presented = hash_secret(secret)
    cache, lifetime = _verified(), timedelta(seconds=token_cache_seconds())
    kept = cache.get(presented)
    if kept is not None and kept[1] <= now < kept[1] + lifetime:
        kept[2] = _touch(kept[0].id, kept[2], now)
        return kept[0]
    token = _read_token(presented)
    if token is None:
        cache.pop(presented, None)
        return None
    used = _touch(token.id, token.last_used_at, now)
    if lifetime:
        if len(cache) >= TOKEN_CACHE_SIZE:
            cache.clear()
        cache[presented] = [token, now, used]
    return token


def _read_token(presented):
    """The live token with hash ``presented`` as stored, or None."""
    token = db.session.execute(_BY_HASH, {"token_hash": presented}).first()
    if token is None or not hmac.compare_digest(token.token_hash, presented):
        return None
    if token.revoked_at is not None:
        return None
    return token


def _touch(token_id, last_used_at, now):
    """Record use, at most once per LAST_USED_RESOLUTION, in its own small commit; the
    last use as recorded."""
    if last_used_at is not None and now - last_used_at < LAST_USED_RESOLUTION:
        return last_used_at
    db.session.execute(
        sa.update(ApiToken)
        .where(
            ApiToken.id == token_id,
            sa.or_(
                ApiToken.last_used_at.is_(None),
                ApiToken.last_used_at <= now - LAST_USED_RESOLUTION,
            ),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return now
