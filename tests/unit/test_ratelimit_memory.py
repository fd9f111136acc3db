"""The limiter's in-memory counters under many request threads at once."""

import threading
import time

import pytest
from limits.storage import MemoryStorage, storage_from_string

from app.ratelimit_memory import ThreadSafeMemoryStorage

THREADS = 8


def test_memory_urls_get_the_thread_safe_storage():
    import app.extensions  # noqa: F401 (what the app imports)

    assert type(storage_from_string("memory://")) is ThreadSafeMemoryStorage


def _slow_to_replace(storage_class):
    """``storage_class`` whose timer takes 20 ms to be replaced: the window in which a
    second thread that found the timer stopped replaces it too."""

    class Slow(storage_class):
        @property
        def timer(self):
            return self.__dict__["timer"]

        @timer.setter
        def timer(self, value):
            self.__dict__["timer"] = value
            time.sleep(0.02)

    return Slow


def _burst(storage):
    """``THREADS`` threads count at once while the expiry timer is stopped: the errors."""
    storage.timer.join()  # the first timer has run out
    start, errors = threading.Barrier(THREADS), []

    def count():
        start.wait(5)
        try:
            storage.incr("token-1", 1)
        except RuntimeError as exc:  # "threads can only be started once"
            errors.append(exc)

    threads = [threading.Thread(target=count) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return errors


def test_threads_finding_the_timer_stopped_restart_it_one_at_a_time():
    storage = _slow_to_replace(ThreadSafeMemoryStorage)()
    assert _burst(storage) == []
    assert storage.get("token-1") == THREADS, "every call counted"


# The timer started twice also fails inside the thread module, as an unraisable error.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_the_librarys_own_storage_fails_the_same_burst():
    """What the lock is for, and proof that the library still restarts its timer in the
    hook that ThreadSafeMemoryStorage takes over: without the lock the burst fails."""
    errors = _burst(_slow_to_replace(MemoryStorage)())
    time.sleep(0.1)  # the twice-started timer's thread has failed by now, in this test
    if not errors:
        pytest.fail("the library's storage no longer starts one timer twice: drop the subclass?")
    assert "started once" in str(errors[0])
