"""The sender wakes when a watched run goes stale, not up to a poll interval later."""

from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from app.notifications.detect import detect_stale, next_stale_at
from app.operations.lifecycle import complete_run
from reconciler.loop import NOTIFY_JOB, WAKE_MARGIN, ReconcilerService
from tests.factories import make_run
from tests.notifications.conftest import add_channel

# report_export: likely stale once running longer than 1200 s (no heartbeat rule).
STALE_AFTER = 1200


@pytest.fixture
def watched(space, clock):
    return add_channel(space, clock, "http://127.0.0.1:9/never", events=["stale"])


def _run(space, clock, seconds_left):
    return make_run(
        space.ws,
        space.contoso,
        now=clock.now(),
        type="report_export",
        age=STALE_AFTER - seconds_left,
    )


def test_the_next_deadline_within_the_window_and_not_at_its_end(
    app, db, space, clock, policy, watched
):
    now = clock.now()
    _run(space, clock, 0.75)
    soonest = _run(space, clock, 0.5)
    assert next_stale_at(policy, now, 1) == soonest.started_at + timedelta(seconds=STALE_AFTER)
    complete_run(soonest, outcome="succeeded", now=now, actor="worker")
    assert next_stale_at(policy, now, 0.75) is None  # exactly at the window's end: next tick
    assert next_stale_at(policy, now, 0.76) == now + timedelta(seconds=0.75)


def test_nothing_to_wake_for(app, db, space, clock, policy, watched):
    now = clock.now()
    _run(space, clock, 2)  # beyond the window
    assert next_stale_at(policy, now, 1) is None
    late = _run(space, clock, -1)  # its deadline passed while a tick ran: wake at once
    deadline = late.started_at + timedelta(seconds=STALE_AFTER)
    assert next_stale_at(policy, now, 1) == deadline < now
    assert detect_stale(policy, now) == 1
    assert next_stale_at(policy, now, 1) is None  # announced: nothing to wake for
    clock.advance(seconds=1.5)  # the first run is due within the window again
    assert next_stale_at(policy, clock.now(), 1) is not None


def test_an_unwatched_workspace_wakes_nobody(app, db, space, clock, policy):
    _run(space, clock, 0.5)
    assert next_stale_at(policy, clock.now(), 1) is None


def test_the_sender_job_is_brought_forward_to_the_deadline(app, db, space, clock, watched):
    service = ReconcilerService(app, "test")
    service._add_job(BackgroundScheduler(daemon=True))
    service.scheduler.start(paused=True)
    try:
        regular = datetime.now(UTC) + timedelta(seconds=1)
        service.scheduler.modify_job(NOTIFY_JOB, next_run_time=regular)
        assert service._wake_for_next_stale() is None  # nothing goes stale before it
        _run(space, clock, 0.4)
        started = datetime.now(UTC)
        wake = service._wake_for_next_stale()
        assert wake is not None
        job = service.scheduler.get_job(NOTIFY_JOB)
        assert job.next_run_time == wake < regular
        low = started + timedelta(seconds=0.4) + WAKE_MARGIN
        assert low <= wake <= datetime.now(UTC) + timedelta(seconds=0.4) + WAKE_MARGIN
        clock.advance(seconds=0.5)  # the deadline passed before the look-ahead: at once
        started = datetime.now(UTC)
        wake = service._wake_for_next_stale()
        assert started + WAKE_MARGIN <= wake <= datetime.now(UTC) + WAKE_MARGIN
    finally:
        service.scheduler.shutdown(wait=False)
