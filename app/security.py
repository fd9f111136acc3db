"""Security headers on every response, request text checks and the sign-in throttle."""

import hashlib
import math
import time

from flask import abort, current_app, request, session
from flask.sessions import SecureCookieSessionInterface

from app.extensions import limiter
from app.operations.accounts import normalize_email

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        # Turbo's own progress-bar stylesheet (turbo.js 8.0.23, pinned in package.json)
        "style-src 'self' 'sha256-WAyOw4V+FqDc35lQPyRADLBWbuNK8ahvYEaQIYF1+Ps='",
        "img-src 'self' data:",
        # 'self' covers the page's own ws:/wss: origin (CSP 3); no socket to any other host
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

HEADER_KEYS = tuple((name.lower(), name, value) for name, value in HEADERS.items())
FORM_MIMETYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
NUL_REFUSED = "the request contains a NUL character"
ACCOUNT_KEY_PREFIX = "sign-in-account:"


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed cookie session, which builds its signer only for a request that
    carries a session cookie: a worker API call (a bearer token, no cookie) gets an empty
    session as before, without the signer's cost on every call."""

    def open_session(self, app, request):
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def init_security(app):
    """Register the header hook and the request text check; HSTS only where cookies are
    secure (production)."""
    app.session_interface = CookieSessions()

    @app.before_request
    def _refuse_nul_characters():
        # PostgreSQL text cannot hold NUL: refuse it before it reaches a query.
        if request.routing_exception is None and _request_has_nul():
            abort(400, description=NUL_REFUSED)

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        present = {name.lower() for name, _ in headers}
        for key, name, value in HEADER_KEYS:
            if key not in present:
                headers.add(name, value)
        if _private_answer():
            response.headers["Cache-Control"] = "no-store"
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response


def _private_answer():
    """Whether the answer must not be stored by a browser or proxy: every API answer, and
    every answer to a signed-in browser (static files aside)."""
    if request.path.startswith("/api/"):
        return True
    return request.endpoint != "static" and "_user_id" in session


def _has_nul(pairs):
    return any("\x00" in key or "\x00" in value for key, value in pairs)


def _request_has_nul():
    if "\x00" in request.path or _has_nul(request.args.items(multi=True)):
        return True
    if request.mimetype not in FORM_MIMETYPES:
        return False
    request.get_data(cache=True)  # the raw body stays readable once the form is parsed
    return _has_nul(request.form.items(multi=True))


def sign_in_account_key():
    """Throttle key of a sign-in attempt's account: a hash of the submitted email, normalized
    as sign-in compares it (so the limit holds for unknown emails as well)."""
    email = normalize_email(request.form.get("email", ""))
    return ACCOUNT_KEY_PREFIX + hashlib.sha256(email.encode("utf-8", "replace")).hexdigest()


def forget_account_attempts():
    """After a successful sign-in, start the account's count afresh (the address keeps its
    count: a valid account must not buy more guesses elsewhere)."""
    for request_limit in limiter.current_limits:
        if any(str(arg).startswith(ACCOUNT_KEY_PREFIX) for arg in request_limit.request_args):
            limiter.limiter.clear(request_limit.limit, *request_limit.request_args)


def sign_in_address_key():
    """Throttle key of a sign-in attempt's client address (the WSGI remote address)."""
    return "sign-in-address:" + (request.remote_addr or "unknown")


def sign_in_account_limit():
    """Sign-in attempts allowed per account, e.g. ``5/minute``."""
    return current_app.config["LOGIN_LIMIT_PER_ACCOUNT"]


def sign_in_address_limit():
    """Sign-in attempts allowed per client address, e.g. ``20/minute``."""
    return current_app.config["LOGIN_LIMIT_PER_ADDRESS"]


def retry_after_seconds(request_limit):
    """Whole seconds until the breached limit's window ends (at least 1)."""
    # Flask-Limiter keeps its windows in wall-clock epoch seconds, not in the app's clock.
    return max(1, math.ceil(request_limit.window.reset_time - time.time()))


def throttle_sign_in(on_breach):
    """Decorator: the per-account and per-address limits on POSTs of the sign-in view.
    ``on_breach(request_limit)`` returns the response for a refused attempt."""

    def decorate(view):
        for limit, key in (
            (sign_in_account_limit, sign_in_account_key),
            (sign_in_address_limit, sign_in_address_key),
        ):
            view = limiter.limit(limit, key_func=key, methods=["POST"], on_breach=on_breach)(view)
        return view

    return decorate
