"""One relay thread per web process: learns run changes from the database, hands them on.

PostgreSQL: a dedicated psycopg connection LISTENs on ``runwarden_runs``; a notification
(sent by the lifecycle service in the same transaction as the change) only wakes the relay,
which then re-reads the change feed. After the listening connection drops, the relay
reconnects and re-reads everything past its cursor, so nothing committed meanwhile is lost.
SQLite: the change feed is tailed every ``poll_interval`` seconds (writers are serialised,
ids are committed in order).
"""

import logging
import os
import threading
import time
from datetime import timedelta

import psycopg
import sqlalchemy as sa

from app.extensions import db
from app.live import timing
from app.live.feed import ChangeFeed
from app.operations.clock import get_clock
from app.operations.store import NOTIFY_CHANNEL

log = logging.getLogger(__name__)
WAKE_PAYLOAD = '{"wake": true}'


class Relay:
    """Feeds every committed change to ``handler(changes, read_at)``, from its own thread."""

    def __init__(
        self,
        app,
        handler,
        *,
        poll_interval=0.2,
        notify_timeout=2.0,
        gap_timeout=10.0,
        retention_seconds=600,
        prune_every=60.0,
    ):
        self.app = app
        self.handler = handler
        self.poll_interval = poll_interval
        self.notify_timeout = notify_timeout
        self.retention_seconds = retention_seconds
        self.prune_every = prune_every
        with app.app_context():
            self.engine = db.engine
        self.dialect = self.engine.dialect.name
        self.feed = ChangeFeed(self.engine, gap_timeout=gap_timeout)
        self.pid = os.getpid()
        self.listener_pid = None
        self.wakeups = 0
        self.reconnects = 0
        self.errors = 0
        self.last_ok = None
        self._last_prune = time.monotonic()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = None

    @property
    def uses_notify(self):
        return self.dialect == "postgresql"

    def start(self):
        """Fix the cursor at the feed's tail (synchronously), then start the thread."""
        self.feed.start_at_tail()
        self.last_ok = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="runwarden-live-relay", daemon=True)
        self._thread.start()
        return self

    def wait_ready(self, timeout):
        """Wait until the relay can hear changes (LISTEN established on PostgreSQL)."""
        return self._ready.wait(timeout)

    def stop(self, timeout=5.0):
        """Ask the thread to finish and wait for it."""
        self._stop.set()
        if self.uses_notify:
            self._wake()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def alive(self):
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def healthy(self):
        """Running, and it read the feed recently (a live LISTEN connection on PostgreSQL)."""
        if not self.alive or self.last_ok is None:
            return False
        if self.uses_notify and self.listener_pid is None:
            return False
        limit = max(5.0, 2.5 * max(self.poll_interval, self.notify_timeout))
        return time.monotonic() - self.last_ok < limit

    def drain(self):
        """Read the feed once and hand new changes (and the read's instant) on.

        The handler hears of every read, also of one that found nothing: pages are then
        known to be current up to that instant. Errors are logged, never raised.
        """
        try:
            read_at = get_clock(self.app).now()
            changes = self.feed.read()
            if changes and timing.enabled():
                timing.line("read", as_of=timing.epoch(read_at), at=timing.now(), n=len(changes))
            self.handler(changes, read_at)
            self._maybe_prune()
            self.last_ok = time.monotonic()
            return changes
        except Exception:
            self.errors += 1
            log.exception("live relay: reading or dispatching the change feed failed")
            return []

    def _run(self):
        if self.uses_notify:
            self._listen_loop()
        else:
            self._ready.set()
            while not self._stop.wait(self.poll_interval):
                self.drain()

    def _listen_loop(self):
        backoff = 0.25
        conninfo = self.engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        while not self._stop.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self.listener_pid = conn.info.backend_pid
                    backoff = 0.25
                    self.drain()
                    self._ready.set()
                    self._wait_loop(conn)
            except psycopg.Error:
                log.warning("live relay: LISTEN connection lost; reconnecting", exc_info=True)
            finally:
                self.listener_pid = None
            if not self._stop.is_set():
                self.reconnects += 1
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)

    def _wait_loop(self, conn):
        while not self._stop.is_set():
            woke = False
            for _notify in conn.notifies(timeout=self.notify_timeout, stop_after=1):
                woke = True
            if self._stop.is_set():
                return
            if woke:
                self.wakeups += 1
            self.drain()

    def _wake(self):
        try:
            with self.engine.begin() as conn:
                conn.execute(sa.select(sa.func.pg_notify(NOTIFY_CHANNEL, WAKE_PAYLOAD)))
        except Exception:
            log.debug("live relay: wake-up notification failed", exc_info=True)

    def _maybe_prune(self):
        if time.monotonic() - self._last_prune < self.prune_every:
            return
        self._last_prune = time.monotonic()
        before = get_clock(self.app).now() - timedelta(seconds=self.retention_seconds)
        self.feed.prune(before)
