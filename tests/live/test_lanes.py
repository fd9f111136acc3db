"""The due lane: a time-only flip is rendered at its instant, whatever sweep runs meanwhile."""

import threading
from datetime import timedelta

import pytest

from app.extensions import db as _db
from app.live import dispatch
from app.live.feed import Change
from app.live.lanes import RenderOrder
from app.live.timer import LiveWorker, Schedule
from app.operations import freshness as fr
from app.operations.freshness import TICK, freshness
from tests.conftest import T0
from tests.factories import make_run
from tests.live.conftest import Harness, _world, fragment_of, received
from tests.web.html import parse

MIN = 60
SECOND = timedelta(seconds=1)


def states(stream):
    page = parse(fragment_of(stream))
    return {
        int(n.attrs["data-run-id"]): n.attrs["data-freshness"]
        for n in page.find_all("data-freshness")
        if "data-run-id" in n.attrs
    }


def quiet_run(ws, tenant):
    """A run that turns likely stale 10 s after T0 (plus the tick) with no write."""
    return make_run(ws, tenant, now=T0, age=2 * MIN, heartbeat_ago=5 * MIN - 10)


def opened(app, clock, policy):
    ws, a, b, owner, op_a = _world(clock)
    quiet = quiet_run(ws, a)
    h = Harness(app)
    h.dispatcher.due_apart = True
    client = h.open(op_a, f"/admin/t/{a.uuid}")
    h.dispatcher.catch_up(client, None)
    assert h.dispatcher.process() == 1 and received(client) is not None
    due = h.dispatcher.schedule.next_at()
    assert due == freshness(quiet, policy, T0).next_transition_at == T0 + 10 * SECOND + TICK
    return h, client, quiet, due, (ws, a, owner)


def test_with_a_due_lane_sweeps_leave_due_groups_to_it(app, clock, policy):
    h, client, quiet, due, _ = opened(app, clock, policy)
    clock.set(due + SECOND)
    assert h.dispatcher.process() == 0 and received(client) is None
    assert h.dispatcher.schedule.next_at() == due, "still planned, for the due lane"


@pytest.mark.parametrize("offset, flipped", [(-1, False), (0, True), (1, True)])
def test_the_due_lane_flips_at_the_instant_never_before(app, clock, policy, offset, flipped):
    h, client, quiet, due, _ = opened(app, clock, policy)
    clock.set(due - TICK)
    assert h.dispatcher.process_due() == 0 and received(client) is None
    clock.set(due + offset * SECOND)
    if not flipped:
        assert h.dispatcher.process_due() == 0 and received(client) is None
        return
    assert h.dispatcher.process_due() == 1
    assert states(received(client))[quiet.id] == fr.LIKELY_STALE


def test_the_due_lane_renders_while_a_sweep_is_stuck_and_the_sweep_never_unflips(
    relay_app, clock, policy, monkeypatch
):
    """A sweep that began before the instant is stuck in another page's render; the due
    lane renders the flip meanwhile, and the sweep's own later render of that page shows
    the flip too (it is not rendered at the sweep's older instant)."""
    relay_app.config["LIVE_RENDER_THREADS"] = 1
    ws, a, b, owner, op_a = _world(clock)
    quiet, busy = quiet_run(ws, a), make_run(ws, a, now=T0)
    h = Harness(relay_app)
    h.dispatcher.due_apart = True
    dashboard = h.open(op_a, f"/admin/t/{a.uuid}")
    detail = h.open(owner, f"/admin/operations/{busy.id}")
    h.dispatcher.catch_up(dashboard, None)
    assert h.dispatcher.process() == 1 and received(dashboard) is not None
    due = h.dispatcher.schedule.next_at()
    change = Change(1, busy.id, ws.id, a.id)
    quiet_id = quiet.id
    _db.session.remove()

    stuck, release, real = threading.Event(), threading.Event(), dispatch.render

    def render(watch, scope, now, as_of=None):
        if watch == detail.watch:
            stuck.set()
            assert release.wait(30)
        return real(watch, scope, now, as_of=as_of)

    monkeypatch.setattr(dispatch, "render", render)
    clock.set(due - SECOND)
    h.dispatcher.submit([change], clock.now())
    sweep = threading.Thread(target=h.dispatcher.process)
    sweep.start()
    try:
        assert stuck.wait(30), "the sweep is in the detail page's render"
        clock.set(due)
        assert h.dispatcher.process_due() == 1, "rendered while the sweep is stuck"
        assert states(received(dashboard))[quiet_id] == fr.LIKELY_STALE
    finally:
        release.set()
        sweep.join(30)
    assert received(detail) is not None
    assert states(received(dashboard))[quiet_id] == fr.LIKELY_STALE, "the sweep kept the flip"


def test_renders_of_one_group_take_turns_at_a_never_earlier_instant():
    order, log = RenderOrder(), []
    inside, trying = threading.Event(), threading.Event()
    later = T0 + SECOND

    def second():
        trying.set()
        with order.turn("k", T0) as now:
            log.append(("second", now))

    with order.turn("k", later) as now:
        log.append(("first", now))
        thread = threading.Thread(target=second)
        thread.start()
        assert trying.wait(10)
        inside.wait(0.05)  # give the second render every chance to get in (it must not)
        log.append(("first done", now))
    thread.join(10)
    assert log == [("first", later), ("first done", later), ("second", later)]
    with order.turn("other", T0) as now:
        assert now == T0, "each group has its own order"
    order.forget({"other"})
    assert order.latest("k") is None and order.latest("other") == T0


def test_the_worker_runs_a_due_lane_that_wakes_for_a_new_plan(relay_app, clock):
    class Lanes:
        def __init__(self):
            self.schedule = Schedule()
            self.rendered = threading.Event()
            self.kept_apart = self.due_apart = False

        def lanes_allowed(self):
            return True

        def process(self):
            pass

        def process_due(self):
            if self.schedule.pop_due(clock.now()):
                self.rendered.set()

        def keep(self, send_timeout):
            pass

        def submit(self, changes, as_of):
            pass

        def wait(self, timeout):
            self.rendered.wait(min(timeout, 0.05))

    lanes = Lanes()
    worker = LiveWorker(relay_app, lanes, tick=30).start()  # asleep for 30 s but for a plan
    try:
        assert lanes.due_apart
        lanes.schedule.set("group", dispatch.Due(clock.now(), (), None, None))
        assert lanes.rendered.wait(10), "woken by the plan, not by its 30 s tick"
    finally:
        worker.stop()
    assert not lanes.due_apart and not worker.alive


def test_groups_due_together_share_their_reads(app, clock, policy, monkeypatch):
    ws, a, b, owner, op_a = _world(clock)
    quiet = quiet_run(ws, a)
    h = Harness(app)
    h.dispatcher.due_apart = True
    pages = [
        h.open(op_a, f"/admin/t/{a.uuid}"),
        h.open(op_a, f"/admin/operations?tenant_id={a.id}"),
    ]
    for client in pages:
        h.dispatcher.catch_up(client, None)
    assert h.dispatcher.process() == 2
    assert all(received(client) is not None for client in pages)
    due = h.dispatcher.schedule.next_at()
    memos = []

    class Recorded(dispatch.SweepMemo):
        def __init__(self):
            super().__init__()
            memos.append(self)

    monkeypatch.setattr(dispatch, "SweepMemo", Recorded)
    clock.set(due)
    assert h.dispatcher.process_due() == 2
    assert all(states(received(client))[quiet.id] == fr.LIKELY_STALE for client in pages)
    [memo] = memos
    assert memo.hits > 0, "the viewer's two due pages shared what both show"
