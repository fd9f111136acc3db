"""Prometheus metrics and one structured log line per request.

Run gauges are read from the database at scrape time, so every web process reports the same
numbers whatever process (web or reconciler) made the change. Request latency is per process.
"""

import json
import logging
import time

import sqlalchemy as sa
from flask import current_app, g, request
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from app.extensions import db
from app.models import ReconcilerPass
from app.notifications.metrics import collect as notification_metrics
from app.operations import freshness as fr
from app.operations import get_policy
from app.operations.clock import now
from app.operations.reads import SystemReads

log = logging.getLogger("runwarden.request")
# A live stream request lasts as long as the page stays open: not a latency.
UNTIMED_ENDPOINTS = {"live_stream"}


class RunCollector:
    """Active runs by freshness, reconciled runs by reason, reconciler pass figures."""

    def __init__(self, app):
        self.app = app

    def collect(self):
        with self.app.app_context():
            yield from self._collect()

    def _collect(self):
        policy, at = get_policy(), now()
        active = GaugeMetricFamily(
            "runwarden_runs_active", "Active runs by freshness", labels=["freshness"]
        )
        reads = SystemReads(policy, at)
        counts = reads.active_by_freshness()
        for name in (fr.FRESH, fr.PAST_EXPECTED, fr.LIKELY_STALE):
            active.add_metric([name], counts.get(name, 0))
        yield active

        reconciled = CounterMetricFamily(
            "runwarden_runs_reconciled", "Runs closed by the reconciler", labels=["reason"]
        )
        for reason, count in reads.reconciled_by_reason().items():
            reconciled.add_metric([reason or "unknown"], count)
        yield reconciled
        yield from self._passes()
        yield from notification_metrics(at)
        db.session.remove()

    def _passes(self):
        last = db.session.scalar(
            sa.select(ReconcilerPass)
            .where(ReconcilerPass.finished_at.is_not(None))
            .order_by(ReconcilerPass.started_at.desc())
            .limit(1)
        )
        last_ok = db.session.scalar(
            sa.select(sa.func.max(ReconcilerPass.finished_at)).where(
                ReconcilerPass.error_count == 0
            )
        )
        duration = GaugeMetricFamily(
            "runwarden_reconciler_last_pass_duration_seconds", "Duration of the last pass"
        )
        success = GaugeMetricFamily(
            "runwarden_reconciler_last_success_timestamp_seconds",
            "Unix time of the last pass without errors",
        )
        if last is not None:
            duration.add_metric([], (last.finished_at - last.started_at).total_seconds())
        if last_ok is not None:
            success.add_metric([], last_ok.timestamp() if last_ok.tzinfo else _epoch(last_ok))
        yield duration
        yield success


def _epoch(naive_utc):
    from datetime import UTC

    return naive_utc.replace(tzinfo=UTC).timestamp()


def init_observability(app):
    """Per-app metrics registry, request timing and the access log line."""
    registry = CollectorRegistry(auto_describe=False)
    latency = Histogram(
        "runwarden_http_request_duration_seconds",
        "HTTP request latency",
        ["endpoint", "method", "status"],
        registry=registry,
        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
    )
    registry.register(RunCollector(app))
    app.extensions["runwarden.metrics"] = registry

    @app.before_request
    def _start_timer():
        g.request_started = time.perf_counter()

    @app.after_request
    def _observe(response):
        started = g.pop("request_started", None)
        if started is None or request.endpoint in UNTIMED_ENDPOINTS:
            return response
        elapsed = time.perf_counter() - started
        endpoint = request.endpoint or "unmatched"
        latency.labels(endpoint, request.method, str(response.status_code)).observe(elapsed)
        _log_request(endpoint, response.status_code, elapsed)
        return response


def _log_request(endpoint, status, elapsed):
    """The structured access log line, built only when it is logged."""
    if not log.isEnabledFor(logging.INFO):
        return
    log.info(
        json.dumps(
            {
                "event": "request",
                "method": request.method,
                "path": request.path,
                "endpoint": endpoint,
                "status": status,
                "ms": round(elapsed * 1000, 2),
                "request_id": request.headers.get("X-Request-Id"),
            }
        )
    )


def metrics_text():
    """The Prometheus exposition of the current app."""
    return generate_latest(current_app.extensions["runwarden.metrics"])
