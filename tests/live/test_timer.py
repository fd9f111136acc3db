"""The transition schedule and its thread."""

import threading
from datetime import timedelta

from app.live.timer import Due, Schedule, TransitionThread
from tests.conftest import T0


def due(at, key="k"):
    return Due(at, (1,), key, None)


def test_pop_due_returns_only_what_has_come():
    schedule = Schedule()
    schedule.set("early", due(T0))
    schedule.set("late", due(T0 + timedelta(seconds=5)))

    assert schedule.pop_due(T0 - timedelta(microseconds=1)) == []
    assert [key for key, _ in schedule.pop_due(T0)] == ["early"]
    assert schedule.next_at() == T0 + timedelta(seconds=5)
    schedule.set("late", None)
    assert len(schedule) == 0 and schedule.next_at() is None


def test_a_new_entry_wakes_the_sleeper():
    schedule = Schedule()
    woke = threading.Event()

    def sleeper():
        schedule.wait_for_next(lambda: T0, 0.0, 30)
        woke.set()

    thread = threading.Thread(target=sleeper)
    thread.start()
    while not woke.is_set():
        schedule.set("k", due(T0 + timedelta(hours=1)))
        woke.wait(0.05)
    thread.join()
    assert woke.is_set()


class StubDispatcher:
    def __init__(self, clock):
        self.schedule = Schedule()
        self.clock = clock
        self.fired = []
        self.done = threading.Event()

    def fire_due(self):
        entries = self.schedule.pop_due(self.clock.now())
        self.fired.extend(entries)
        if entries:
            self.done.set()
        return len(entries)


def test_the_thread_fires_a_due_group(app, clock):
    dispatcher = StubDispatcher(clock)
    thread = TransitionThread(app, dispatcher, margin_seconds=0).start()
    try:
        dispatcher.schedule.set("group", due(clock.now() - timedelta(seconds=1)))
        assert dispatcher.done.wait(5)
    finally:
        thread.stop()
    assert [key for key, _ in dispatcher.fired] == ["group"]
    assert not thread.alive
