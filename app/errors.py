"""Every HTTP error of the app, answered in one place: JSON or an error page.

The API's clients get ``{"error": {"code", "message", "fields"}}``: on ``/api/`` paths, and
from any path when the client asks for JSON rather than HTML. Everyone else gets the error
page of the code (400, 404, 500), or Werkzeug's plain answer for the rare others (405, 413).
One app-level handler covers errors raised in views, in routing (unknown path, wrong
method) and before routing (a body over the limit), whatever the blueprints are.
"""

from flask import current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from app.extensions import db

API_PATH_PREFIX = "/api/"
PAGES = {400: "errors/400.html", 404: "errors/404.html", 500: "errors/500.html"}
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
    429: "rate_limited",
    500: "internal_error",
}
HTTP_MESSAGES = {
    404: "no such API endpoint",
    405: "this method is not allowed on this endpoint",
    500: "internal error",
}


def wants_json():
    """Whether the current request is answered as the API answers: JSON."""
    if request.path.startswith(API_PATH_PREFIX):
        return True
    best = request.accept_mimetypes.best_match(("text/html", "application/json"))
    return best == "application/json"


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
    """A Werkzeug HTTPException as a JSON error (keeps headers such as ``Allow``)."""
    status = error.code or 500
    headers = {
        name: value
        for name, value in error.get_headers()
        if name.lower() not in ("content-type", "content-length")
    }
    return error_response(
        status, HTTP_CODES.get(status, "error"), _http_message(status, error), headers=headers
    )


def _page(error):
    template = PAGES.get(error.code)
    if template is None:
        return error
    message = error.description if error.code == 400 else None
    return render_template(template, message=message), error.code


def handle_http_error(error):
    """Any HTTPException (an unexpected error arrives as a 500): JSON or the page."""
    if error.code is None or error.response is not None:
        return error
    if wants_json() or error.code >= 500:
        db.session.rollback()
    return http_error_response(error) if wants_json() else _page(error)


def init_errors(app):
    """Answer every HTTP error of ``app`` here."""
    app.register_error_handler(HTTPException, handle_http_error)
