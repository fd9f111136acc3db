"""Time-exact flips and the live worker thread.

For each group of clients (same page, same visibility) the Schedule keeps the next instant
at which that page changes with no write (``render.plan``). The LiveWorker renders pending
work as it comes; its due lane sleeps until the earliest planned instant (or a new plan)
and renders what has come then, beside any change sweep (``app.live.lanes``).
"""

import logging
import threading
from dataclasses import dataclass
from datetime import datetime

from app.operations.clock import get_clock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Due:
    """A page group to re-render at ``at`` (app-clock time) for ``run_ids``."""

    at: datetime
    run_ids: tuple
    watch: object
    scope: object


class Schedule:
    """Next transition per group key; thread-safe."""

    def __init__(self):
        self._due = {}
        self._changed = threading.Condition()
        self.version = 0  # counts plans, so a waiter misses none made before it sleeps

    def set(self, key, due):
        """Plan ``key`` for ``due`` (None forgets it)."""
        with self._changed:
            if due is None:
                self._due.pop(key, None)
            else:
                self._due[key] = due
                self.version += 1
                self._changed.notify_all()

    def wait(self, version, timeout):
        """Sleep up to ``timeout`` s unless a plan was made since ``version`` (or one is)."""
        with self._changed:
            if self.version == version:
                self._changed.wait(timeout)

    def wake(self):
        """Wake every waiter (stopping)."""
        with self._changed:
            self.version += 1
            self._changed.notify_all()

    def get(self, key):
        """The Due planned for ``key``, or None."""
        with self._changed:
            return self._due.get(key)

    def has(self, key):
        with self._changed:
            return key in self._due

    def pop_due(self, now):
        """Remove and return the groups due at ``now``: [(key, Due)]."""
        with self._changed:
            due = [(key, d) for key, d in self._due.items() if d.at <= now]
            for key, _ in due:
                del self._due[key]
            return due

    def next_at(self):
        with self._changed:
            return min((d.at for d in self._due.values()), default=None)

    def __len__(self):
        with self._changed:
            return len(self._due)


class LiveWorker:
    """The thread that renders: pending changes, catch-ups and due transitions, as they come.

    Where renders may run on several threads (``Dispatcher.lanes_allowed``), due transitions
    have a thread of their own (the due lane, ``Dispatcher.process_due``), so a flip is
    rendered at its instant even while a long change sweep runs.

    A keeper thread beside it keeps the clients honest about once a second
    (``Dispatcher.keep``): sockets stuck in a send are dropped, entitlements and sessions
    re-checked. It runs apart so that a long sweep never delays dropping a stuck socket or
    noticing a lost access, and a sweep never waits for those re-checks.
    """

    def __init__(self, app, dispatcher, send_timeout=5.0, margin_seconds=0.02, tick=1.0):
        self.app = app
        self.dispatcher = dispatcher
        self.send_timeout = send_timeout
        self.margin = margin_seconds
        self.tick = tick
        self._stop = threading.Event()
        self._thread = None
        self._keeper = None
        self._due = None

    def start(self):
        self.dispatcher.kept_apart = True
        self._thread = threading.Thread(target=self._run, name="runwarden-live-worker", daemon=True)
        self._keeper = threading.Thread(
            target=self._keep, name="runwarden-live-keeper", daemon=True
        )
        self.dispatcher.due_apart = self.dispatcher.lanes_allowed()
        if self.dispatcher.due_apart:
            self._due = threading.Thread(target=self._due_lane, name="runwarden-live-due")
            self._due.daemon = True
            self._due.start()
        self._thread.start()
        self._keeper.start()
        return self

    def stop(self, timeout=5.0):
        self._stop.set()
        self.dispatcher.submit([], None)
        self.dispatcher.schedule.wake()
        for thread in (self._thread, self._keeper, self._due):
            if thread is not None:
                thread.join(timeout)
        self.dispatcher.kept_apart = self.dispatcher.due_apart = False

    @property
    def alive(self):
        return self._thread is not None and self._thread.is_alive()

    def _run(self):
        clock = get_clock(self.app)
        while not self._stop.is_set():
            try:
                self.dispatcher.process()
            except Exception:
                log.exception("live: the worker's sweep failed")
            self.dispatcher.wait(self.tick if self.dispatcher.due_apart else self._wait(clock))

    def _due_lane(self):
        clock, schedule = get_clock(self.app), self.dispatcher.schedule
        while not self._stop.is_set():
            version = schedule.version
            try:
                self.dispatcher.process_due()
            except Exception:
                log.exception("live: rendering due pages failed")
            schedule.wait(version, self._wait(clock))

    def _keep(self):
        while not self._stop.wait(self.tick):
            try:
                self.dispatcher.keep(self.send_timeout)
            except Exception:
                log.exception("live: keeping the clients failed")

    def _wait(self, clock):
        next_at = self.dispatcher.schedule.next_at()
        if next_at is None:
            return self.tick
        return min(self.tick, max(0.0, (next_at - clock.now()).total_seconds() + self.margin))
