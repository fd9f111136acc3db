"""The API's own errors: ApiError and refused transitions, as JSON error answers.

Every other HTTP error of an ``/api/`` path (unknown path, wrong method, a body over the
limit, an unexpected error) is answered as JSON by the app-level handler in app/errors.py.
"""

from app.errors import error_response
from app.extensions import db
from app.operations.lifecycle import LifecycleError


class ApiError(Exception):
    """An error answered as JSON with ``status``; ``fields`` maps field names to messages."""

    def __init__(self, status, code, message, fields=None, headers=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}
        self.headers = headers or {}


def invalid(fields, message="the request is not valid"):
    """A 422 ApiError naming the offending ``fields``."""
    return ApiError(422, "validation_failed", message, fields)


def _api_error(error):
    db.session.rollback()
    return error_response(error.status, error.code, error.message, error.fields, error.headers)


def _lifecycle_error(error):
    db.session.rollback()
    return error_response(409, error.code, error.message)


def register_error_handlers(bp):
    """Answer ApiError and LifecycleError raised in ``bp``'s views as JSON."""
    bp.register_error_handler(ApiError, _api_error)
    bp.register_error_handler(LifecycleError, _lifecycle_error)
