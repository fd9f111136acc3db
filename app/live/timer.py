"""Time-exact flips: re-render a watched page the moment its freshness changes with no write.

For each group of clients (same page, same visibility) the Schedule keeps the next instant
at which a run on that page turns past-expected or likely stale (``plan``). The
TransitionThread sleeps until the earliest one and asks the dispatcher to push.
"""

import logging
import threading
from dataclasses import dataclass
from datetime import datetime

from app.operations.clock import get_clock

log = logging.getLogger(__name__)
MAX_WAIT = 60.0


@dataclass(frozen=True)
class Due:
    """A page group to re-render at ``at`` (app-clock time) for ``run_ids``."""

    at: datetime
    run_ids: tuple
    watch: object
    scope: object


class Schedule:
    """Next transition per group key; thread-safe; wakes its waiter on earlier entries."""

    def __init__(self):
        self._due = {}
        self._changed = threading.Condition()

    def set(self, key, due):
        """Plan ``key`` for ``due`` (None forgets it)."""
        with self._changed:
            if due is None:
                self._due.pop(key, None)
            else:
                self._due[key] = due
            self._changed.notify_all()

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

    def wait_for_next(self, now, margin, longest):
        """Sleep until the earliest entry is due (plus ``margin`` seconds), at most ``longest``
        seconds; an entry set meanwhile wakes the sleeper. ``now()`` reads the app clock."""
        with self._changed:
            next_at = min((d.at for d in self._due.values()), default=None)
            wait = longest
            if next_at is not None:
                wait = min(longest, max(0.0, (next_at - now()).total_seconds() + margin))
            self._changed.wait(wait)

    def __len__(self):
        with self._changed:
            return len(self._due)


class TransitionThread:
    """Fires ``dispatcher.fire_due()`` when the earliest planned transition comes."""

    def __init__(self, app, dispatcher, margin_seconds=0.02):
        self.app = app
        self.dispatcher = dispatcher
        self.margin = margin_seconds
        self._stop = threading.Event()
        self._thread = None

    def start(self):
        self._thread = threading.Thread(
            target=self._run, name="runwarden-live-transitions", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout=5.0):
        self._stop.set()
        self.dispatcher.schedule.set(("stop",), None)
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def alive(self):
        return self._thread is not None and self._thread.is_alive()

    def _run(self):
        clock = get_clock(self.app)
        while not self._stop.is_set():
            try:
                self.dispatcher.fire_due()
            except Exception:
                log.exception("live: pushing time-based transitions failed")
            if not self._stop.is_set():
                self.dispatcher.schedule.wait_for_next(clock.now, self.margin, MAX_WAIT)
