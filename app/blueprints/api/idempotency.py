"""``Idempotency-Key`` on creates: a retry gets the first answer, never a second run."""

import re

from flask import current_app, request, url_for

from app.blueprints.api.body import json_body
from app.blueprints.api.errors import ApiError, invalid
from app.operations import idempotency

HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,200}", re.ASCII)
OPENAPI_HEADER = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": "A create retried with the same key (and body) answers the first "
    "create's run; another body under the same key answers 409.",
    "schema": {"type": "string", "pattern": "^[!-~]{1,200}$"},
}


def idempotency_key():
    """The request's ``Idempotency-Key``, or None; 422 unless 1-200 visible ASCII chars."""
    value = request.headers.get(HEADER)
    if value is None:
        return None
    if not KEY_PATTERN.fullmatch(value):
        raise invalid({HEADER: "must be 1 to 200 visible ASCII characters"})
    return value


def _replayed(row, digest):
    if row.fingerprint != digest:
        raise ApiError(
            409,
            "idempotency_key_reused",
            f"this {HEADER} was used by a create with a different body",
        )
    response = current_app.response_class(row.body, status=row.status, mimetype="application/json")
    response.headers["Location"] = url_for("api.get_run", run_id=row.run_id)
    return response


def replay(workspace_id, key):
    """The answer kept for an earlier create under ``key``, or None (409 when that create
    had another body)."""
    row = idempotency.stored_answer(workspace_id, key)
    if row is None:
        return None
    return _replayed(row, idempotency.fingerprint(json_body()))


def keep(response, *, workspace_id, key, run_id, now):
    """Commit the create with ``response`` kept under ``key``; when a concurrent create
    under the same key won, answer that one instead (this run is rolled back)."""
    digest = idempotency.fingerprint(json_body())
    winner = idempotency.remember(
        workspace_id=workspace_id,
        key=key,
        fingerprint=digest,
        run_id=run_id,
        status=response.status_code,
        body=response.get_data(as_text=True),
        now=now,
    )
    return response if winner is None else _replayed(winner, digest)
