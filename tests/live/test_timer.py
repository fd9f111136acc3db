"""The transition schedule and the live worker's loop."""

import threading
import time
from datetime import timedelta

from app.live.dispatch import Dispatcher
from app.live.registry import LiveRegistry
from app.live.timer import Due, LiveWorker, Schedule
from tests.conftest import T0


def due(at, key="k"):
    return Due(at, (1,), key, None)


def test_pop_due_returns_only_what_has_come():
    schedule = Schedule()
    schedule.set("early", due(T0))
    schedule.set("late", due(T0 + timedelta(seconds=5)))

    assert schedule.pop_due(T0 - timedelta(microseconds=1)) == []
    assert [key for key, _ in schedule.pop_due(T0)] == ["early"]
    assert not schedule.has("early") and schedule.has("late")
    assert schedule.next_at() == T0 + timedelta(seconds=5)
    schedule.set("late", None)
    assert len(schedule) == 0 and schedule.next_at() is None


def test_a_new_plan_replaces_the_group_s_old_one():
    schedule = Schedule()
    schedule.set("k", due(T0 + timedelta(hours=1)))
    schedule.set("k", due(T0 + timedelta(seconds=1)))
    assert len(schedule) == 1 and schedule.next_at() == T0 + timedelta(seconds=1)


class StubDispatcher:
    """What the worker drives: process, keep, wait and the schedule."""

    def __init__(self, fail_first=False):
        self.schedule = Schedule()
        self.processed = 0
        self.kept = []
        self.fail_first = fail_first
        self.woke = threading.Event()
        self._wake = threading.Event()

    def process(self):
        self.processed += 1
        if self.fail_first and self.processed == 1:
            raise RuntimeError("boom")
        if self._wake.is_set():
            self._wake.clear()
            self.woke.set()

    def keep(self, send_timeout):
        self.kept.append(send_timeout)

    def lanes_allowed(self):
        return False

    def submit(self, changes, as_of):
        self._wake.set()

    def wait(self, timeout):
        self._wake.wait(timeout)


def test_the_worker_wakes_for_new_work_and_keeps_the_clients(app):
    dispatcher = StubDispatcher()
    worker = LiveWorker(app, dispatcher, send_timeout=0.5, tick=0.05).start()
    try:
        dispatcher.submit([], None)
        assert dispatcher.woke.wait(5)
        deadline = time.monotonic() + 5
        while len(dispatcher.kept) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        worker.stop()
    assert dispatcher.kept[:2] == [0.5, 0.5]
    assert not worker.alive


def test_a_failing_sweep_is_logged_and_the_worker_goes_on(app, caplog):
    dispatcher = StubDispatcher(fail_first=True)
    worker = LiveWorker(app, dispatcher, tick=0.05).start()
    try:
        deadline = time.monotonic() + 5
        while dispatcher.processed < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        worker.stop()
    assert dispatcher.processed >= 3
    assert "the worker's sweep failed" in caplog.text


def test_the_worker_sleeps_until_the_next_planned_instant(app, clock):
    dispatcher = Dispatcher(app, LiveRegistry())
    worker = LiveWorker(app, dispatcher, margin_seconds=0.02, tick=1.0)
    assert worker._wait(clock) == 1.0, "nothing planned: one tick"
    dispatcher.schedule.set("k", due(clock.now() + timedelta(seconds=0.25)))
    assert abs(worker._wait(clock) - 0.27) < 1e-9
    clock.advance(10)
    assert worker._wait(clock) == 0.0, "overdue: at once"


def test_the_worker_fires_a_due_group(app, db, clock):
    dispatcher = Dispatcher(app, LiveRegistry())
    dispatcher.schedule.set("group", due(clock.now() - timedelta(seconds=1)))
    worker = LiveWorker(app, dispatcher, margin_seconds=0, tick=0.05).start()
    try:
        deadline = time.monotonic() + 5
        while len(dispatcher.schedule) and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        worker.stop()
    assert len(dispatcher.schedule) == 0, "the due group was taken (nobody watches it now)"
