"""API tokens: a random secret shown once, stored only as its sha256 hash and a short prefix.

A token is bound to one workspace and can be revoked; a revoked token never verifies again.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import ApiToken

SECRET_MARK = "rw_"
PREFIX_LENGTH = len(SECRET_MARK) + 8
MAX_SECRET_LENGTH = 200
NAME_MAX_LENGTH = 100
# last_used_at is bookkeeping: write it at most once per interval, not on every request.
LAST_USED_RESOLUTION = timedelta(seconds=60)


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
    return True


# Every API call looks its token up: plain columns, the statement built once.
_BY_HASH = sa.select(ApiToken.__table__).where(
    ApiToken.token_hash == sa.bindparam("token_hash", type_=sa.String, required=True)
)


def verify_token(secret, *, now):
    """The live token whose secret is ``secret`` (its row), or None (unknown, malformed or
    revoked).

    The lookup goes through the unique index on the hash; the final comparison is
    constant-time all the same.
    """
    if not secret or len(secret) > MAX_SECRET_LENGTH or not secret.startswith(SECRET_MARK):
        return None
    presented = hash_secret(secret)
    token = db.session.execute(_BY_HASH, {"token_hash": presented}).first()
    if token is None or not hmac.compare_digest(token.token_hash, presented):
        return None
    if token.revoked_at is not None:
        return None
    _touch(token, now)
    return token


def _touch(token, now):
    """Record use, at most once per LAST_USED_RESOLUTION, in its own small commit."""
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    db.session.execute(
        sa.update(ApiToken)
        .where(
            ApiToken.id == token.id,
            sa.or_(
                ApiToken.last_used_at.is_(None),
                ApiToken.last_used_at <= now - LAST_USED_RESOLUTION,
            ),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
