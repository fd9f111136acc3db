"""Bearer-token authentication for the API: every request, no session, no cookie."""

from dataclasses import dataclass

from flask import g, request

from app.blueprints.api.errors import ApiError
from app.operations.clock import now
from app.operations.tokens import verify_token
from app.operations.visibility import scope_for_token

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="runwarden"'}
PUBLIC_ENDPOINTS = frozenset({"api.openapi"})


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's scope and the actor name written on the timeline."""

    scope: object
    actor: str
    token_id: int


def bearer_secret():
    """The secret of an ``Authorization: Bearer`` header, or None."""
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


def authenticate():
    """Resolve the caller into ``g.principal``; 401 when the token is missing or not valid
    (the OpenAPI document needs none)."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    secret = bearer_secret()
    if secret is None:
        raise ApiError(
            401, "token_missing", "an Authorization: Bearer token is required", headers=CHALLENGE
        )
    token = verify_token(secret, now=now())
    if token is None:
        raise ApiError(401, "token_invalid", "the token is not valid", headers=CHALLENGE)
    g.principal = Principal(scope_for_token(token), f"api:{token.name}", token.id)


def principal():
    """The authenticated caller of this request."""
    return g.principal
