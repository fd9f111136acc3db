"""The per-token limit on report calls (create, start, heartbeat, complete): 429 beyond it.

The key is a hash of the bearer secret, so the limit is checked before the token is looked
up and costs no query; a request without a token is not counted (it answers 401). Counts
live in ``RATELIMIT_STORAGE_URI`` (per process with the default ``memory://``: give
several web processes a shared store to hold the limit across them).
"""

import hashlib

from flask import current_app
from flask_limiter.errors import RateLimitExceeded

from app.blueprints.api.auth import bearer_secret
from app.errors import error_response
from app.extensions import limiter
from app.security import retry_after_seconds

API_REPORT_LIMIT = "50/second"
SCOPE = "api-reports"


def report_limit():
    """Report calls allowed per token, e.g. ``50/second`` (config ``API_REPORT_LIMIT``)."""
    return current_app.config.get("API_REPORT_LIMIT", API_REPORT_LIMIT)


def token_key():
    """Throttle key of the calling token: a hash of its secret."""
    secret = bearer_secret() or ""
    return "api-token:" + hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()


def _without_token():
    return bearer_secret() is None


def _refused(request_limit):
    seconds = retry_after_seconds(request_limit)
    return error_response(
        429,
        "rate_limited",
        f"more than {request_limit.limit} report calls for this token; retry in {seconds} s",
        headers={"Retry-After": str(seconds)},
    )


def throttle_reports(view):
    """Decorator: the report calls of one token share one limit."""
    return limiter.shared_limit(
        report_limit,
        scope=SCOPE,
        key_func=token_key,
        exempt_when=_without_token,
        on_breach=_refused,
    )(view)


def _answer(error):
    # The blueprint answers every HTTPException as JSON; this one already has its answer.
    return error.get_response()


def register_throttle(bp):
    """Answer a breached report limit with the response ``_refused`` built."""
    bp.register_error_handler(RateLimitExceeded, _answer)
