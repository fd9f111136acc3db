"""Database outages answer 503 with ``Retry-After``, never 500.

A terminated connection, a database restart or an exhausted pool is transient: workers
should retry, and browsers should show "try again" rather than "something went wrong".
Pooled PostgreSQL connections are checked before reuse (``pool_pre_ping``, see
app/postgres.py) and a disconnect invalidates the pool, so the next request reconnects: the
app recovers without a restart. Nothing is committed by a request that answers 503 unless
the connection died after its commit reached the database.
"""

import sqlalchemy as sa
from flask import current_app, render_template

from app.errors import error_response, wants_json
from app.extensions import db

RETRY_AFTER_SECONDS = 5
UNAVAILABLE_MESSAGE = "the database is unavailable; retry shortly"
FALLBACK_PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>Unavailable · Runwarden</title>"
    "<h1>Temporarily unavailable</h1><p>The database cannot be reached. Try again in a "
    "moment.</p></html>"
)

try:  # psycopg errors raised outside SQLAlchemy (the live relay's own connection)
    from psycopg import OperationalError as PsycopgOperationalError
except ImportError:  # pragma: no cover - psycopg is a dependency
    PsycopgOperationalError = None


def is_unavailable(error):
    """Whether ``error`` says the database cannot be reached now (not a bug in a query)."""
    if isinstance(error, sa.exc.TimeoutError):  # no pooled connection became free in time
        return True
    if isinstance(error, sa.exc.DBAPIError):
        return error.connection_invalidated or isinstance(error, sa.exc.OperationalError)
    return PsycopgOperationalError is not None and isinstance(error, PsycopgOperationalError)


def retry_after():
    """Seconds a client should wait before retrying (``DATABASE_RETRY_AFTER_SECONDS``)."""
    return int(current_app.config.get("DATABASE_RETRY_AFTER_SECONDS", RETRY_AFTER_SECONDS))


def unavailable_response(error):
    """The 503 answer: JSON ``unavailable`` on the API, the 503 page elsewhere."""
    _forget_connection()
    current_app.logger.warning("database unavailable: %s", type(error).__name__)
    headers = {"Retry-After": str(retry_after())}
    if wants_json():
        return error_response(503, "unavailable", UNAVAILABLE_MESSAGE, headers=headers)
    try:
        page = render_template("errors/503.html")
    except Exception:  # the layout may need the database (the signed-in user's chrome)
        _forget_connection()
        page = FALLBACK_PAGE
    return page, 503, headers


def _forget_connection():
    try:
        db.session.rollback()
    except Exception:  # the connection is gone; the pool replaces it
        pass


def _handle(error):
    if not is_unavailable(error):
        raise error  # a real bug: the usual 500 path
    return unavailable_response(error)


def init_outages(app):
    """Answer database outages raised anywhere in a request with 503."""
    for error_class in (sa.exc.DBAPIError, sa.exc.TimeoutError, PsycopgOperationalError):
        if error_class is not None:
            app.register_error_handler(error_class, _handle)
