"""The rate limiter's per-process counters (``memory://``), safe for many threads.

The ``limits`` library's in-memory storage (5.8.0) restarts its expiry timer from any
request thread that finds it stopped: two threads that find it stopped at once may both
replace it and start the same timer twice, which raises in one request ("threads can only
be started once") and answers it 500. A worker's report must not fail for that. This
storage takes the ``memory`` scheme for itself, as the library lets a storage class do,
and restarts the timer under a lock; everything else is the library's.
"""

import threading

from limits.storage import MemoryStorage


class ThreadSafeMemoryStorage(MemoryStorage):
    """``MemoryStorage`` whose expiry timer is restarted by one thread at a time."""

    STORAGE_SCHEME = ["memory"]

    def __init__(self, *args, **kwargs):
        self._timer_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    # The library's private hook (``self.__schedule_expiry()`` inside MemoryStorage); a
    # test checks that the library still calls it.
    def _MemoryStorage__schedule_expiry(self):  # noqa: N802 (the library's name)
        with self._timer_lock:
            super()._MemoryStorage__schedule_expiry()
