"""JSON errors of the API: ``{"error": {"code", "message", "fields"}}``.

Errors raised inside API views are answered by blueprint handlers. Routing errors (unknown
path, wrong method) and a body refused before routing never reach the blueprint, so the
app-level handlers installed here answer JSON for ``/api/`` paths and hand every other path
to the handler that was registered before them, or to Flask's default.
"""

from flask import current_app, jsonify, request
from werkzeug.exceptions import HTTPException, InternalServerError, default_exceptions

from app.extensions import db
from app.operations.lifecycle import LifecycleError

API_PATH_PREFIX = "/api/"
APP_LEVEL_CODES = (404, 405, 413)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_content_type",
    422: "validation_failed",
    500: "internal_error",
}
HTTP_MESSAGES = {
    404: "no such API endpoint",
    405: "this method is not allowed on this endpoint",
    500: "internal error",
}


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


def error_response(status, code, message, fields=None, headers=None):
    """The JSON error response."""
    body = {"error": {"code": code, "message": message, "fields": fields or {}}}
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _http_message(status, error):
    if status == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        return f"the body is larger than {limit} bytes" if limit else "the body is too large"
    return HTTP_MESSAGES.get(status) or error.description


def http_error_response(error):
    """A werkzeug HTTPException as a JSON error (keeps headers such as ``Allow``)."""
    status = error.code or 500
    message = _http_message(status, error)
    headers = {
        name: value
        for name, value in error.get_headers()
        if name.lower() not in ("content-type", "content-length")
    }
    return error_response(status, HTTP_CODES.get(status, "error"), message, headers=headers)


def is_api_request():
    """Whether the current request addresses the API."""
    return request.path.startswith(API_PATH_PREFIX)


def _api_error(error):
    db.session.rollback()
    return error_response(error.status, error.code, error.message, error.fields, error.headers)


def _lifecycle_error(error):
    db.session.rollback()
    return error_response(409, error.code, error.message)


def _http_error(error):
    db.session.rollback()
    return http_error_response(error)


def _internal_error(error):
    db.session.rollback()
    return http_error_response(InternalServerError())


def install_app_handler(app, code):
    """Answer ``code`` as JSON on ``/api/`` paths; elsewhere defer to the previous handler."""
    exc_class = default_exceptions[code]
    previous = app.error_handler_spec[None][code].get(exc_class)

    def api_or_previous(error):
        if is_api_request():
            return _http_error(error)
        return previous(error) if previous is not None else error

    app.register_error_handler(code, api_or_previous)


def register_error_handlers(bp):
    """Attach the JSON error handlers to ``bp`` and the ``/api/`` ones to the app."""
    bp.register_error_handler(ApiError, _api_error)
    bp.register_error_handler(LifecycleError, _lifecycle_error)
    for code in HTTP_CODES:
        if code in default_exceptions and code != 500:
            bp.register_error_handler(code, _http_error)
    bp.register_error_handler(HTTPException, _http_error)
    bp.register_error_handler(500, _internal_error)

    @bp.record_once
    def _install(state):
        for code in APP_LEVEL_CODES:
            install_app_handler(state.app, code)
