"""Two lanes of renders, one order per group.

Time-only changes have an instant: a due group is rendered by its own lane (the worker's
due thread, ``Dispatcher.process_due``) as soon as its instant comes, not after the change
sweep in progress, which at scale takes seconds and would show the flip late, or never when
the run completes meanwhile. The lanes may then render one group at the same time;
``RenderOrder`` lets one group's renders take turns, and no render of a group uses an
earlier ``now`` than one already shown to it (a sweep that began before the instant would
otherwise push the page from before the flip after the flip).
"""

import threading
from contextlib import contextmanager


class RenderOrder:
    """One render at a time per group, each at a ``now`` no earlier than the last one's."""

    def __init__(self):
        self._lock = threading.Lock()
        self._groups = {}  # group key -> [its turn's lock, the latest now rendered]

    @contextmanager
    def turn(self, key, now):
        """Wait for the group's turn; yields the ``now`` to render it at."""
        with self._lock:
            entry = self._groups.setdefault(key, [threading.Lock(), None])
        with entry[0]:
            if entry[1] is not None and entry[1] > now:
                now = entry[1]
            entry[1] = now
            yield now

    def latest(self, key):
        """The latest ``now`` a render of group ``key`` used (None: none yet)."""
        with self._lock:
            entry = self._groups.get(key)
        return None if entry is None else entry[1]

    def forget(self, keys):
        """Drop groups no longer open (``keys``: those still open)."""
        with self._lock:
            for key in [k for k in self._groups if k not in keys]:
                del self._groups[key]
