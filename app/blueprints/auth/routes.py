"""Sign in and sign out."""

from urllib.parse import urlsplit

from flask import abort, make_response, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from app.blueprints.auth import bp
from app.blueprints.auth.forms import LoginForm, LogoutForm
from app.operations.accounts import authenticate
from app.operations.clock import now
from app.operations.sessions import end_session, start_session
from app.security import forget_account_attempts, retry_after_seconds, throttle_sign_in

LOGIN_FAILED = "Invalid email or password"
LOGIN_THROTTLED = "Too many sign-in attempts. Wait a minute and try again."


def safe_next(target):
    """``target`` if it is a path on this host (no scheme, host, backslash or control
    character), else None."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(char) < 32 or ord(char) == 127 for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _landing(next_url):
    return next_url or request.script_root + "/admin"


def _throttled(request_limit):
    """The sign-in page, 429: the same answer whichever limit tripped and whoever the account."""
    page = render_template(
        "auth/login.html",
        form=LoginForm(),
        error=LOGIN_THROTTLED,
        next_url=safe_next(request.args.get("next")),
    )
    return make_response(page, 429, {"Retry-After": str(retry_after_seconds(request_limit))})


@bp.route("/login", methods=["GET", "POST"])
@throttle_sign_in(on_breach=_throttled)
def login():
    """Show the sign-in form; on valid credentials start a new session and redirect."""
    next_url = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(_landing(next_url))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            session.clear()
            session["sid"] = start_session(user, now())
            login_user(user)
            forget_account_attempts()
            return redirect(_landing(next_url))
        error = LOGIN_FAILED
    elif form.is_submitted():
        error = LOGIN_FAILED
    page = render_template("auth/login.html", form=form, error=error, next_url=next_url)
    return page, 422 if error else 200


@bp.route("/logout", methods=["POST"])
def logout():
    """End the session on the server and in the cookie (POST with a CSRF token only)."""
    if not LogoutForm().validate_on_submit():
        abort(400)
    end_session(session.get("sid"), now())
    session.clear()
    logout_user()
    return redirect(url_for("auth.login"))
