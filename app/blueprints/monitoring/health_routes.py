"""Health, readiness and metrics endpoints for the people who run Runwarden."""

import hmac

import sqlalchemy as sa
from flask import Response, current_app, jsonify, request

from app.blueprints.monitoring import bp
from app.extensions import csrf, db
from app.observability import metrics_text

LOOPBACK = ("127.0.0.1", "::1")


@bp.get("/healthz")
def healthz():
    """The process is alive (no database access)."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """The database answers and the reconciler is not stale (when one is expected)."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except Exception as exc:  # any driver error means not ready
        db.session.rollback()
        current_app.logger.warning("readiness: database unreachable: %s", type(exc).__name__)
        return jsonify(status="unavailable", reason="database unreachable"), 503
    problem = _reconciler_problem()
    if problem:
        return jsonify(status="unavailable", reason=problem), 503
    return jsonify(status="ok")


def _reconciler_problem():
    if current_app.config.get("RUNWARDEN_RECONCILER") == "off":
        return None
    from app.operations.reconciler_status import reconciler_status
    from app.presenter.formatting import plain
    from app.presenter.reconciler import stale_warning

    warning = stale_warning(reconciler_status())
    return plain(warning) if warning else None


@bp.get("/metrics")
@csrf.exempt
def metrics():
    """Prometheus text format: a bearer token when METRICS_TOKEN is set; otherwise loopback
    in development, and in production nobody unless RUNWARDEN_METRICS_PUBLIC=1 opens it
    (behind a local reverse proxy every client looks like loopback)."""
    config = current_app.config
    if not config.get("METRICS_TOKEN") and config.get("PRODUCTION"):
        if not config.get("METRICS_PUBLIC"):
            return jsonify(error={"code": "not_found", "message": "not found"}), 404
    elif not _metrics_allowed():
        return jsonify(error={"code": "forbidden", "message": "metrics access denied"}), 403
    return Response(metrics_text(), mimetype="text/plain; version=0.0.4; charset=utf-8")


def _metrics_allowed():
    token = current_app.config.get("METRICS_TOKEN")
    if token:
        supplied = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(supplied.encode(), token.encode())
    return request.remote_addr in LOOPBACK
