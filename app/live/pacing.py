"""Wide pages render at most once per ``LIVE_WIDE_INTERVAL``, and say honestly how current.

A page over a whole scope (the overview, an unfiltered list) is concerned by nearly every
change; at ten changes a second rendering it for each sweep is most of the live worker's
work. ``Pacing`` lets such a group wait until one interval after its last render: it is
planned for that instant in the Schedule (or keeps an earlier time-only change, so flips
stay exact). While it waits its members' data is that of its last render, and
``as_of_for`` says so: "current" never claims changes a page does not show yet.
"""

import threading
from datetime import timedelta

from app.live.registry import WATCH_LIST, WATCH_WORKSPACE
from app.live.timer import Due


def is_wide(watch):
    """Whether ``watch`` shows every run of its viewer's scope."""
    return watch.kind == WATCH_WORKSPACE or (watch.kind == WATCH_LIST and not watch.tenant_id)


class Pacing:
    """Last renders of groups, and which wide groups wait (thread-safe)."""

    def __init__(self, schedule):
        self.schedule = schedule
        self._lock = threading.Lock()
        self._rendered = {}  # group key -> (app-clock instant, as_of) of its last render
        self._held = {}  # waiting group key -> as_of of the data its members have

    def defer(self, key, now, interval):
        """Whether the group ``key`` (concerned by a change at ``now``) waits."""
        with self._lock:
            last = self._rendered.get(key)
        if not interval or last is None or not is_wide(key[0]):
            return False
        at = last[0] + timedelta(seconds=interval)
        if at <= now:
            return False
        with self._lock:
            self._held.setdefault(key, last[1])
        planned = self.schedule.get(key)
        if planned is None or planned.at > at:
            runs, scope = (planned.run_ids, planned.scope) if planned else ((), None)
            self.schedule.set(key, Due(at, runs, key[0], scope))
        return True

    def rendered(self, key, now, as_of):
        """Every member of group ``key`` got the render of ``now`` with data of ``as_of``."""
        with self._lock:
            self._rendered[key] = (now, as_of)
            self._held.pop(key, None)

    def forget(self, keys):
        """Drop what is known of groups no longer open (``keys``: those still open)."""
        with self._lock:
            for known in (self._rendered, self._held):
                for key in [k for k in known if k not in keys]:
                    del known[key]

    def as_of_for(self, key, as_of):
        """``as_of``, or the data of the group's last render while it waits."""
        with self._lock:
            held = self._held.get(key)
        return held if held is not None and as_of is not None and held < as_of else as_of
