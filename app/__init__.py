"""Runwarden: an operations console that never shows a dead run as running."""

import os

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app import postgres, sqlite
from app.extensions import csrf, db, limiter, login_manager, migrate
from app.operations.clock import SystemClock
from app.operations.policy import load_policy
from config import Config, ProductionConfig


def create_app(config=None, clock=None):
    """Build the app from ``config`` (class or instance); ``clock`` replaces the system clock."""
    app = Flask(__name__, instance_relative_config=True)
    if config is None:
        production = os.environ.get("RUNWARDEN_ENV") == "production"
        config = ProductionConfig if production else Config
    app.config.from_object(config() if isinstance(config, type) else config)

    if app.config.get("PROXY_HOPS"):
        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.extensions["runwarden.clock"] = clock or SystemClock()
    app.extensions["runwarden.policy"] = load_policy(
        app.config.get("RUNWARDEN_OPERATION_TYPES"), app.config["FOLLOW_UP_WINDOW_SECONDS"]
    )

    _init_extensions(app)
    _init_parts(app)
    return app


def _init_extensions(app):
    """Bind the Flask extensions (database, migrations, login, CSRF, rate limits)."""
    sqlite.install()
    postgres.configure(app.config)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()))
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.user_loader(_load_user)
    csrf.init_app(app)
    limiter.init_app(app)


def _init_parts(app):
    """Attach the blueprints, commands, error answers, live updates and the reconciler."""
    from app import models  # noqa: F401  (register tables)
    from app.blueprints import register_blueprints
    from app.cli import register_cli
    from app.errors import init_errors
    from app.live import init_live
    from app.observability import init_observability
    from app.outages import init_outages
    from app.presenter.templating import init_templating
    from app.security import init_security
    from reconciler.loop import init_app as init_reconciler

    register_blueprints(app)
    register_cli(app)
    init_errors(app)
    init_security(app)
    init_templating(app)
    init_observability(app)
    init_outages(app)
    init_reconciler(app)  # embedded mode: starts with the first request served, not here
    init_live(app)  # the relay thread starts with the first stream socket, not here


def _load_user(user_id):
    """The signed-in user only while the cookie's server-side session is live."""
    from flask import session

    from app.operations.clock import now
    from app.operations.sessions import load_session_user

    return load_session_user(session.get("sid"), user_id, now())


def _migrations_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"
