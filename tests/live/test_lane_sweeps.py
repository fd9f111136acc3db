"""Two lanes of sweeps: pages about one run or tenant never wait for a sweep of the wide pages,
and "current" never claims a change a waiting page lacks."""

import threading
from datetime import timedelta
from types import SimpleNamespace

from app.extensions import db as _db
from app.live import dispatch
from app.live.feed import Change
from app.live.lanes import RenderQueue
from app.operations.clock import isoformat
from app.pages import SweepMemo
from tests.conftest import T0
from tests.factories import make_run
from tests.live.conftest import Harness, _world, received, run_ids

SECOND = timedelta(seconds=1)


def work(as_of, partial=()):
    return SimpleNamespace(as_of=as_of, partial=set(partial))


def queue_of():
    """A queue that orders groups by name; its memos are numbered."""
    made = iter(range(1, 100))
    return RenderQueue(lambda members: members[0].group, lambda: next(made))


def member(n, group="g"):
    return SimpleNamespace(id=n, group=group)


def put(queue, as_of, *groups, partial=(), fallback=None):
    queue.put({g: [member(n, g)] for n, g in enumerate(groups)}, work(as_of, partial), fallback)


def test_a_sweep_takes_every_waiting_group_in_order_and_a_group_put_twice_waits_once():
    queue = queue_of()
    put(queue, T0, "c", "a")
    put(queue, T0 + SECOND, "b", "c")
    jobs, memo = queue.take(0)
    assert [job.key for job in jobs] == ["a", "b", "c"] and memo == 1
    assert jobs[2].work.as_of == T0 + SECOND, "put twice: once, with the newest work"
    put(queue, T0 + 2 * SECOND, "d")
    jobs, memo = queue.take(0)
    assert [job.key for job in jobs] == ["d"] and memo == 2, "a memo made after the put"
    assert queue.take(0) == ([], None)


def test_a_group_is_never_rendered_twice_at_once():
    queue = queue_of()
    put(queue, T0, "g")
    [running], _ = queue.take(0)
    put(queue, T0 + SECOND, "g", "h")
    jobs, _ = queue.take(0)
    assert [job.key for job in jobs] == ["h"], "g still renders: it waits for the next sweep"
    assert queue.take(0) == ([], None)
    queue.done(running, T0)
    [again], _ = queue.take(0)
    assert again.key == "g" and again.work.as_of == T0 + SECOND


def test_a_waiting_group_is_current_only_to_its_last_render():
    queue = queue_of()
    assert queue.as_of_for("g", T0) == T0
    put(queue, T0, "g", fallback=T0 - SECOND)
    assert queue.as_of_for("g", T0) == T0 - SECOND, "waiting: the data it had before"
    [job], _ = queue.take(0)
    put(queue, T0 + SECOND, "g", fallback=T0)
    queue.done(job, T0)
    assert queue.as_of_for("g", T0 + SECOND) == T0, "a newer change still waits"
    queue.done(queue.take(0)[0][0], T0 + SECOND)
    assert queue.as_of_for("g", T0 + 2 * SECOND) == T0 + 2 * SECOND
    put(queue, T0 + 3 * SECOND, "g", partial={"g"}, fallback=T0)
    assert queue.as_of_for("g", T0 + 3 * SECOND) == T0 + 3 * SECOND, "a catch-up holds nothing"


def test_a_failed_render_keeps_its_group_held():
    queue = queue_of()
    put(queue, T0, "g", fallback=T0 - SECOND)
    queue.done(queue.take(0)[0][0], None)
    assert queue.as_of_for("g", T0) == T0 - SECOND


def test_feed_queues_and_the_lane_pushes_with_honest_as_of(app, clock):
    ws, a, b, owner, op_a = _world(clock)
    run = make_run(ws, a, now=T0)
    h = Harness(app)
    dashboard = h.open(op_a, f"/admin/t/{a.uuid}")
    other = h.open(owner, f"/admin/t/{b.uuid}")  # tenant b: not concerned
    d = h.dispatcher
    d.submit([], T0 - SECOND)
    assert d.feed() == 0 and d.as_of == T0 - SECOND
    d.submit([Change(1, run.id, ws.id, a.id)], T0)
    assert d.feed() == 1, "queued, not rendered"
    assert received(dashboard) is None
    assert d.as_of_for(dashboard) == T0 - SECOND, "not current to T0 before its render"
    assert d.as_of_for(other) == T0
    assert d.sweep_lane(True, 0) == 0, "a tenant page: the narrow lane's"
    assert d.sweep_lane(False, 0) == 1 and d.sweep_lane(False, 0) == 0
    page = received(dashboard)
    assert run.id in run_ids(page) and f'data-as-of="{isoformat(T0)}"' in page
    assert d.as_of_for(dashboard) == T0 and received(other) is None


def test_a_narrow_page_never_waits_for_the_wide_lane_s_sweep(relay_app, clock, monkeypatch):
    """The wide lane's sweep is stuck in the overview's render; a change that comes meanwhile
    for a tenant page is rendered by the narrow lane at once (one sweep would have waited)."""
    ws, a, b, owner, op_a = _world(clock)
    slow, busy = make_run(ws, None, now=T0), make_run(ws, a, now=T0)  # slow: workspace-level
    h = Harness(relay_app)
    overview = h.open(owner, "/admin")
    dashboard = h.open(op_a, f"/admin/t/{a.uuid}")
    ids = (slow.id, busy.id, ws.id, a.id)
    _db.session.remove()
    stuck, release, real = threading.Event(), threading.Event(), dispatch.render

    def render(watch, scope, now, as_of=None):
        if watch == overview.watch:
            stuck.set()
            assert release.wait(30)
        return real(watch, scope, now, as_of=as_of)

    monkeypatch.setattr(dispatch, "render", render)
    h.dispatcher.submit([Change(1, ids[0], ids[2], None)], clock.now())  # the overview alone
    assert h.dispatcher.feed() == 1
    thread = threading.Thread(target=h.dispatcher.sweep_lane, args=(True, 10))
    thread.start()
    try:
        assert stuck.wait(30), "the wide lane is in the overview's render"
        h.dispatcher.submit([Change(2, ids[1], ids[2], ids[3])], clock.now())
        assert h.dispatcher.feed() == 2, "the dashboard, and the overview again"
        assert h.dispatcher.sweep_lane(False, 10) == 1, "rendered while the wide lane is stuck"
        assert ids[1] in run_ids(received(dashboard))
        assert received(overview) is None
    finally:
        release.set()
        thread.join(30)
    assert received(overview) is not None
    assert h.dispatcher.sweep_lane(True, 0) == 1, "the overview's second change: next sweep"
    assert ids[1] in run_ids(received(overview))


def test_a_wide_group_whose_interval_ends_takes_its_lane_not_the_due_lane(app, world, clock):
    h = Harness(app, wide_interval=0.5)
    overview = h.open(world.owner, "/admin")
    tenant = h.open(world.owner, f"/admin/t/{world.a.uuid}")
    d = h.dispatcher
    d.due_apart = d.queued = True
    h.changed(world.runs.fresh, as_of=T0)
    assert received(overview) and received(tenant)

    clock.advance(0.499)
    d.submit([Change(1, world.runs.fresh.id, world.ws.id, world.a.id)], clock.now())
    assert d.feed() == 1, "the tenant page; the overview waits for its interval"
    assert d.sweep_lane(False, 0) == 1 and received(tenant) and received(overview) is None
    assert d.as_of_for(overview) == T0

    clock.advance(0.001)
    assert d.process_due() == 0, "not rendered by the due lane"
    assert d.as_of_for(overview) == T0, "queued: still the data of T0"
    assert d.sweep_lane(True, 0) == 1 and received(overview) is not None
    assert d.as_of_for(overview) == d.as_of == T0 + timedelta(seconds=0.499)


def test_a_lane_s_sweep_renders_at_one_instant_and_its_pages_share_reads(app, clock, monkeypatch):
    ws, a, b, owner, op_a = _world(clock)
    run = make_run(ws, a, now=T0)
    h = Harness(app)
    pages = [h.open(owner, f"/admin/t/{a.uuid}"), h.open(op_a, f"/admin/t/{a.uuid}")]
    d, memos, real = h.dispatcher, [], dispatch.render
    d.lanes[False].memo_factory = lambda: memos.append(SweepMemo()) or memos[-1]

    def render(watch, scope, now, as_of=None):
        clock.advance(0.05)  # time passes while a page renders
        return real(watch, scope, now, as_of=as_of)

    monkeypatch.setattr(dispatch, "render", render)
    d.submit([Change(1, run.id, ws.id, a.id)], T0)
    assert d.feed() == 2 and d.sweep_lane(False, 0) == 2
    assert all(run.id in run_ids(received(page)) for page in pages)
    [memo] = memos
    reads = [key for key in memo._slots if key[0] in ("attention", "recent_views")]
    assert len(reads) == 2, "two visibilities of one tenant: its facts read once, at one now"
