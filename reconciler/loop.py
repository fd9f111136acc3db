"""The schedule and the lease, apart from the pass itself.

Every process that may reconcile runs one ReconcilerService: an APScheduler job ticks every
``RECONCILER_TICK_SECONDS``; each tick takes or renews the lease and, only in the holder,
runs a pass when one is due. "Due" is read from the recorded passes (one interval after the
last pass started), so the cadence survives a handover and the status page can say exactly
when the next pass comes.

Embedded mode (``RUNWARDEN_RECONCILER=embedded``) runs the service inside the web server,
once per deployment: under ``flask run`` in the process that serves requests (started by the
first request, so never in the reloader's watcher process), under gunicorn in the master
process (``gunicorn.conf.py`` calls ``start_in_gunicorn_master``; the workers it forks see
``RUNWARDEN_RECONCILER_OWNER`` and stay out). Nothing starts inside ``create_app``.
"""

import atexit
import json
import logging
import os
import secrets
import signal
import socket
import sys
import threading
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from app.extensions import db
from app.notifications.detect import next_stale_at
from app.notifications.sender import run_tick as notifications_tick
from app.operations import get_policy
from app.operations.clock import get_clock
from app.operations.reconciler_status import pass_due
from reconciler.lease import make_lease
from reconciler.maintenance import STATISTICS_EVERY_SECONDS as STATISTICS_EVERY
from reconciler.maintenance import refresh_statistics, tidy
from reconciler.reconcile import error_text, run_pass

logger = logging.getLogger("runwarden.reconciler")

OWNER_ENV = "RUNWARDEN_RECONCILER_OWNER"
DEFAULT_TICK_SECONDS = 1
DEFAULT_LEASE_SECONDS = 5
EXTENSION = "runwarden.reconciler"
NOTIFY_JOB = "notifications-tick"
# A run is stale once now is past its deadline: wake just after it.
WAKE_MARGIN = timedelta(milliseconds=20)

_embedded = None
_embedded_lock = threading.Lock()


def make_holder(role):
    """A name for this process in the lease and on recorded passes."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)} ({role})"


class ReconcilerService:
    """One process's scheduler: lease, cadence and passes; ``tick`` is one step of it."""

    def __init__(self, app, role):
        self.app = app
        self.role = role
        self.pid = os.getpid()
        self.holder = make_holder(role)
        self.interval = app.config["RECONCILER_INTERVAL_SECONDS"]
        self.tick_seconds = app.config.get("RECONCILER_TICK_SECONDS", DEFAULT_TICK_SECONDS)
        ttl = app.config.get("RECONCILER_LEASE_SECONDS", DEFAULT_LEASE_SECONDS)
        with app.app_context():
            self.lease = make_lease(db.engine, self.holder, ttl)
        self.scheduler = None
        self.leading = False
        self._stop = threading.Event()
        self._stopped = False
        self._busy = threading.Lock()
        self._notifying = threading.Lock()
        self._last_error = None
        self._analyzed_at = None

    def _now(self):
        return get_clock(self.app).now()

    def tick(self):
        """Hold or take the lease and run a pass if one is due; the PassSummary or None."""
        if self._stop.is_set() or not self._busy.acquire(blocking=False):
            return None
        try:
            with self.app.app_context():
                leading = self._lead()
                self._last_error = None
                if not leading or not pass_due(self._now(), self.interval):
                    return None
                summary = run_pass(holder=self.holder, keep_going=self._keep_going)
                record = {"event": "reconciler_pass", "holder": self.holder, **summary.as_dict()}
                logger.info(json.dumps(record, default=str))
                self._upkeep()
                return summary
        except Exception as exc:
            # The same failure every second (database down) is logged in full once.
            text = error_text(exc)
            log = logger.debug if text == self._last_error else logger.exception
            log("reconciler tick failed: %s", text)
            self._last_error = text
            return None
        finally:
            self._busy.release()

    def notify(self):
        """One notification sender tick, in the lease holder only; its summary or None.

        The reconciler's tick takes and renews the lease; this job only reads the result.
        """
        if self._stop.is_set() or not self.leading:
            return None
        if not self._notifying.acquire(blocking=False):
            return None
        try:
            with self.app.app_context():
                summary = notifications_tick()
                if summary.grouped or summary.sent or summary.failed or summary.errors:
                    record = {"event": "notifications_tick", "holder": self.holder}
                    logger.info(json.dumps({**record, **vars(summary)}, default=str))
                if not summary.errors:  # a failing step is retried at the regular pace
                    self._wake_for_next_stale()
                return summary
        except Exception as exc:
            logger.exception("notification tick failed: %s", error_text(exc))
            return None
        finally:
            self._notifying.release()

    def _wake_for_next_stale(self):
        """Bring the next sender tick forward to the instant a watched run goes stale when
        that comes before the regular tick (by time alone nothing else would wake it)."""
        if self.scheduler is None or not self.scheduler.running:
            return None
        at = self._now()
        stale_at = next_stale_at(get_policy(), at, self.tick_seconds)
        job = self.scheduler.get_job(NOTIFY_JOB)
        if stale_at is None or job is None or job.next_run_time is None:
            return None
        wake = datetime.now(UTC) + max(stale_at - at, timedelta(0)) + WAKE_MARGIN
        if wake >= job.next_run_time:
            return None
        self.scheduler.modify_job(NOTIFY_JOB, next_run_time=wake)
        return wake

    def _upkeep(self):
        at = self._now()
        # Retention and the insights rollup never stand in the way of the next pass.
        tidy(self.app.config, get_policy(), at, logger)
        if self._analyzed_at and (at - self._analyzed_at).total_seconds() < STATISTICS_EVERY:
            return
        if refresh_statistics(db.engine):
            logger.info(json.dumps({"event": "sqlite_statistics_refreshed", "at": str(at)}))
        self._analyzed_at = at

    def _lead(self):
        leading = self.lease.acquire(self._now())
        if leading != self.leading:
            logger.info("%s %s the reconciler lease", self.holder, "holds" if leading else "lost")
        self.leading = leading
        return leading

    def _keep_going(self):
        return not self._stop.is_set() and self._lead()

    def _add_job(self, scheduler):
        scheduler.add_job(
            self.tick,
            "interval",
            seconds=self.tick_seconds,
            id="reconciler-tick",
            max_instances=2,
            coalesce=True,
            # APScheduler fires on wall-clock time; "now" starts the first tick at once.
            next_run_time=datetime.now(UTC),
        )
        scheduler.add_job(
            self.notify,
            "interval",
            seconds=self.tick_seconds,
            id=NOTIFY_JOB,
            max_instances=2,  # a tick still running makes the next one return at once
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )
        self.scheduler = scheduler

    def start(self):
        """Run in a background daemon thread (embedded mode)."""
        self._add_job(BackgroundScheduler(daemon=True))
        self.scheduler.start()
        logger.info("reconciler scheduler started: %s, every %s s", self.holder, self.interval)
        return self

    def run_forever(self):
        """Run in the foreground until SIGTERM or SIGINT (``python -m reconciler``)."""
        self._add_job(BlockingScheduler())
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        logger.info("reconciler scheduler started: %s, every %s s", self.holder, self.interval)
        self.scheduler.start()
        self.stop()

    def _on_signal(self, signum, frame):
        logger.info("reconciler stopping on %s", signal.Signals(signum).name)
        self._stop.set()
        self.scheduler.shutdown(wait=False)

    def stop(self):
        """Stop ticking, let a running pass end at its next batch, release the lease."""
        # A forked child (a gunicorn worker) inherits this object, never its threads or lock.
        if self._stopped or os.getpid() != self.pid:
            return
        self._stopped = True
        self._stop.set()
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        with self._busy:
            self.lease.release(self._now())
            self.leading = False
        logger.info("reconciler scheduler stopped: %s", self.holder)


def init_app(app):
    """In embedded mode, start the reconciler with the first request this process serves."""
    if app.config["RUNWARDEN_RECONCILER"] != "embedded":
        return

    @app.before_request
    def _start_embedded_reconciler():
        if EXTENSION not in app.extensions:
            app.extensions[EXTENSION] = start_embedded(app)


def start_embedded(app, role="embedded"):
    """Start this deployment's embedded reconciler in this process, once.

    Returns the running ReconcilerService, or None when the mode is not ``embedded`` or a
    parent process (the gunicorn master) already runs it.
    """
    global _embedded
    if app.config["RUNWARDEN_RECONCILER"] != "embedded":
        return None
    owner = os.environ.get(OWNER_ENV)
    if owner and owner != str(os.getpid()):
        return None
    with _embedded_lock:
        if _embedded is not None and _embedded.pid == os.getpid():
            return _embedded
        _ensure_logging()
        _embedded = ReconcilerService(app, role).start()
        atexit.register(_embedded.stop)
        return _embedded


def stop_embedded():
    """Stop the embedded reconciler of this process, if any."""
    global _embedded
    with _embedded_lock:
        service, _embedded = _embedded, None
    if service is not None and service.pid == os.getpid():
        service.stop()


def start_in_gunicorn_master(server, app):
    """gunicorn ``when_ready`` hook: run the embedded reconciler of ``app`` in the master, once.

    The master never serves requests and outlives its workers; workers forked after this
    inherit ``RUNWARDEN_RECONCILER_OWNER`` and do not start their own.
    """
    if app.config["RUNWARDEN_RECONCILER"] != "embedded":
        return None
    os.environ[OWNER_ENV] = str(os.getpid())
    logger.handlers = list(server.log.error_log.handlers)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return start_embedded(app, role="gunicorn master")


def _ensure_logging():
    """Make the unattended scheduler's lines visible when nobody configured logging."""
    if logger.handlers or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[%(asctime)s] %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
