"""One sweep's shared reads, wide pages paced to one render per interval, the keeper apart.

Pages of one visibility share what they all show (tab counts, upcoming transitions) within
a sweep; facts about one tenant (its activity, overlay, summary, lists) are shared by every
viewer who may see it, and the tenants' counts are read once for the workspace and kept,
for each page, to the tenants its viewer may see. A page over a whole scope renders at most once per
``LIVE_WIDE_INTERVAL`` however many changes come, while time-only flips stay exact and
"current" never claims data the page does not have yet.
"""

import threading
import time
from datetime import timedelta

import pytest
from flask import g

from app.live import keeper
from app.live import render as live_render
from app.live.dispatch import group_key
from app.live.feed import Change
from app.live.keeper import REVOKED
from app.live.render import plan, render_context
from app.live.timer import LiveWorker
from app.models import Membership
from app.operations.freshness import freshness
from app.operations.reads import RunReads
from app.pages import SweepMemo, shared, use_memo
from tests.conftest import T0, login
from tests.factories import make_member, make_user
from tests.live.conftest import Harness, fragment_of, page_content, received, run_ids, watch_for
from tests.web.html import parse, tab_counts

SHARED_PAGES = (
    "/admin",
    "/admin/operations",
    "/admin/operations?activeTab=active",
    "/admin/operations?activeTab=active_stale_attention",
    "/admin/operations?activeTab=terminal_follow_up",
)


def sweep(harness, *runs):
    """``harness.changed(*runs)`` on a thread of its own (no request context, as in the
    live worker)."""
    changes = [Change(n, r.id, r.workspace_id, r.tenant_id) for n, r in enumerate(runs, 1)]
    harness.dispatcher.submit(changes, None)
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("n", harness.dispatcher.process()))
    thread.start()
    thread.join(60)
    return result["n"]


def counting(monkeypatch, name):
    """The visible tenants of each viewer whose reads call ``RunReads.<name>``."""
    calls = []
    real = getattr(RunReads, name)

    def wrapper(reads, *args, **kwargs):
        calls.append(reads.scope.tenant_ids)
        return real(reads, *args, **kwargs)

    monkeypatch.setattr(RunReads, name, wrapper)
    return calls


@pytest.fixture
def viewer_b(world):
    user = make_user()
    make_member(user, world.ws, "viewer", tenants=[world.b])
    return user


def test_pages_of_one_visibility_read_shared_facts_once_per_sweep(
    app, world, viewer_b, monkeypatch
):
    stale_calls = counting(monkeypatch, "likely_stale_total")
    count_calls = counting(monkeypatch, "tab_counts")
    activity_calls = counting(monkeypatch, "activity_by_tenant")
    h = Harness(app)
    people = (world.owner, world.viewer, viewer_b)
    clients = {(u.id, p): h.open(u, p) for u in people for p in SHARED_PAGES}

    assert sweep(h, world.runs.ws_level) == len(clients)

    # one read per visibility, however many pages of it were rendered
    assert sorted(map(str, count_calls)) == sorted(map(str, {u.tenant_ids for u in scopes(h)}))
    assert len(count_calls) == 3
    # the tenants' counts are read once for the whole workspace; stale counts are their sum
    assert activity_calls == [None] and stale_calls == []
    assert h.dispatcher.last_memo.hits > 0
    assert sweep(h, world.runs.ws_level) == len(clients)
    assert len(count_calls) == 6 and len(activity_calls) == 2, "a new sweep reads again"


def scopes(harness):
    return {c.scope for c in harness.registry.snapshot()}


def test_shared_reads_leave_every_page_what_its_route_shows(app, world, viewer_b):
    h = Harness(app)
    people = (world.owner, world.viewer, viewer_b)
    tenant_pages = (f"/admin/t/{world.a.uuid}", f"/admin/operations?tenant_id={world.a.id}")
    clients = {(u, p): h.open(u, p) for u in people for p in SHARED_PAGES}
    clients |= {(world.owner, p): h.open(world.owner, p) for p in tenant_pages}
    clients |= {(world.viewer, p): h.open(world.viewer, p) for p in tenant_pages}

    sweep(h, world.runs.ws_level, world.runs.fresh)

    for (user, page), client in clients.items():
        fragment = fragment_of(received(client))
        g.pop("_login_user", None)  # opening pages signed users in on the test's context
        routed = page_content(login(app.test_client(), user).get(page).get_data(as_text=True))
        assert fragment == routed, (user.id, page)
    hidden_from_b = {world.runs.fresh.id, world.runs.stale.id, world.runs.past.id}
    for page in SHARED_PAGES:
        sweep(h, world.runs.ws_level)
        assert not run_ids(received(clients[(viewer_b, page)])) & hidden_from_b


def _tenant_pages(*tenants):
    pages = []
    for tenant in tenants:
        pages += [f"/admin/t/{tenant.uuid}", f"/admin/operations?tenant_id={tenant.id}"]
    return pages


def test_facts_read_once_for_the_workspace_compose_each_visibility_alone(
    app, world, viewer_b, monkeypatch
):
    """Five visibilities in one sweep (every tenant, a, b, a and b, none): every page is
    what its route shows, byte for byte, and carries nothing of a tenant it may not see,
    although the tenants' counts were read once for the whole workspace and a tenant's own
    facts once for all its viewers."""
    both, nobody = make_user(), make_user()
    make_member(both, world.ws, "operator", tenants=[world.a, world.b])
    make_member(nobody, world.ws, "viewer")
    activity_calls = counting(monkeypatch, "activity_by_tenant")
    summary_calls = counting(monkeypatch, "type_summary")
    sees = {
        world.owner: (world.a, world.b),
        world.viewer: (world.a,),
        viewer_b: (world.b,),
        both: (world.a, world.b),
        nobody: (),
    }
    h = Harness(app)
    clients = {
        (user, page): h.open(user, page)
        for user, tenants in sees.items()
        for page in (*SHARED_PAGES, *_tenant_pages(*tenants))
    }

    sweep(h, world.runs.ws_level, world.runs.fresh, world.runs.b_fresh)

    assert activity_calls == [None], "one read of every tenant's counts"
    assert len(summary_calls) == 2, "one 7-day summary per tenant, whoever shows it"
    for (user, page), client in clients.items():
        fragment = fragment_of(received(client))
        g.pop("_login_user", None)
        routed = page_content(login(app.test_client(), user).get(page).get_data(as_text=True))
        assert fragment == routed, (user.id, page)
        _assert_nothing_of_hidden_tenants(world, sees[user], fragment)


def _assert_nothing_of_hidden_tenants(world, visible, fragment):
    hidden = [t for t in (world.a, world.b, world.c) if t not in visible]
    for tenant in hidden:
        assert tenant.name not in fragment and str(tenant.uuid) not in fragment
        assert f"tenant_id={tenant.id}" not in fragment
    mine = {t.id for t in visible}
    runs = vars(world.runs).values()
    hidden_runs = {r.id for r in runs if r.tenant_id is not None and r.tenant_id not in mine}
    assert not run_ids(fragment) & hidden_runs


def test_tab_counts_differ_per_visibility_in_one_sweep(app, world, viewer_b):
    h = Harness(app)
    owner = h.open(world.owner, "/admin/operations")
    viewer = h.open(world.viewer, "/admin/operations")
    other = h.open(viewer_b, "/admin/operations")

    sweep(h, world.runs.ws_level)

    counts = [tab_counts(parse(fragment_of(received(c)))) for c in (owner, viewer, other)]
    assert counts[0] != counts[1] != counts[2] != counts[0]
    assert counts[1]["all"] + counts[2]["all"] == counts[0]["all"] + 1  # ws-level in both


def test_the_memo_computes_a_fact_once_when_threads_ask_together():
    memo, started, calls = SweepMemo(), threading.Barrier(8), []

    def compute():
        calls.append(1)
        time.sleep(0.05)
        return object()

    def ask(results):
        started.wait()
        results.append(memo.get("k", compute))

    results = []
    threads = [threading.Thread(target=ask, args=(results,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(calls) == 1 and len(results) == 8 and len({id(r) for r in results}) == 1
    assert (memo.misses, memo.hits) == (1, 7)


def test_a_failed_read_is_not_kept_and_routes_never_share(app):
    memo = SweepMemo()

    def broken():
        raise RuntimeError("db went away")

    with pytest.raises(RuntimeError):
        memo.get("k", broken)
    assert memo.get("k", lambda: 42) == 42

    class Scope:
        workspace_id, role, tenant_ids = 1, "owner", None

    with app.app_context():  # no memo opened: every call reads
        reads = [shared(Scope, T0, "x", object) for _ in range(2)]
        assert reads[0] is not reads[1]
        use_memo(SweepMemo())
        assert shared(Scope, T0, "x", object) is shared(Scope, T0, "x", object)
        later = T0 + timedelta(seconds=1)
        assert shared(Scope, T0, "x", object) is not shared(Scope, later, "x", object)
        use_memo(None)


@pytest.mark.parametrize("limit", [5000, 1])
def test_plans_from_the_shared_read_match_each_page_s_own(app, world, policy, monkeypatch, limit):
    monkeypatch.setattr(live_render, "PLAN_LIMIT", limit)
    active = (world.runs.fresh, world.runs.past, world.runs.stale)
    first = min(at for at in (freshness(r, policy, T0).next_transition_at for r in active) if at)
    now = first - timedelta(seconds=10)
    memo = SweepMemo()
    everyone = (
        "/admin",
        "/admin/operations",
        f"/admin/t/{world.a.uuid}",
        f"/admin/operations?tenant_id={world.a.id}",
        f"/admin/operations/{world.runs.past.id}",
    )
    owner_only = (
        f"/admin/t/{world.b.uuid}",
        f"/admin/operations?tenant_id={world.b.id}",
        f"/admin/operations/{world.runs.b_fresh.id}",
    )
    pages = [(world.owner, p) for p in everyone + owner_only]
    pages += [(world.viewer, p) for p in everyone]  # sees tenant a and workspace-level runs
    for user, page in pages:
        watch, scope = watch_for(app, user, page)
        with render_context(app):
            assert plan(watch, scope, now, memo) == plan(watch, scope, now), (user.id, page)
    # one read of the workspace; when it did not take every active run, one per visibility;
    # and the reconciler's status once, for the owner's overview (its stale warning)
    assert memo.misses == (1 if limit > 1 else 3) + 1


# -- wide pages: at most one render per interval --------------------------------------------


def test_a_wide_page_waits_for_its_interval_and_a_narrow_one_does_not(app, world, clock):
    h = Harness(app, wide_interval=0.5)
    overview = h.open(world.owner, "/admin")
    wide_list = h.open(world.owner, "/admin/operations")
    tenant = h.open(world.owner, f"/admin/t/{world.a.uuid}")
    tenant_list = h.open(world.owner, f"/admin/operations?tenant_id={world.a.id}")
    d = h.dispatcher

    h.changed(world.runs.fresh, as_of=T0)
    assert all(received(c) for c in (overview, wide_list, tenant, tenant_list))

    clock.advance(0.499)
    h.changed(world.runs.fresh, as_of=clock.now())
    assert received(tenant) and received(tenant_list), "narrow pages never wait"
    assert received(overview) is None and received(wide_list) is None
    assert d.schedule.get(group_key(overview)).at == T0 + timedelta(seconds=0.5)
    assert d.as_of == clock.now() and d.as_of_for(tenant) == clock.now()
    assert d.as_of_for(overview) == T0, "its page holds the data of T0, not of now"

    clock.advance(0.001)  # exactly at the interval: the planned render is due
    assert d.process() == 2
    assert received(overview) and received(wide_list)
    assert d.as_of_for(overview) == d.as_of


def test_a_change_exactly_one_interval_later_renders_at_once(app, world, clock):
    h = Harness(app, wide_interval=0.5)
    overview = h.open(world.owner, "/admin")
    h.changed(world.runs.fresh, as_of=T0)
    received(overview)
    clock.advance(0.5)
    h.changed(world.runs.fresh, as_of=clock.now())
    assert received(overview) is not None


def test_a_time_only_flip_before_the_interval_keeps_its_instant(app, world, clock, policy):
    h = Harness(app, wide_interval=30)
    overview = h.open(world.owner, "/admin")
    soonest = freshness(world.runs.fresh, policy, T0).next_transition_at
    start = clock.advance((soonest - T0).total_seconds() - 10)
    h.changed(world.runs.fresh, as_of=start)
    received(overview)
    key = group_key(overview)
    flip = h.dispatcher.schedule.get(key).at
    assert start < flip <= soonest < start + timedelta(seconds=30)

    h.changed(world.runs.fresh, as_of=start)
    assert received(overview) is None
    assert h.dispatcher.schedule.get(key).at == flip, "not pushed back to the interval"
    clock.advance((flip - start).total_seconds())
    assert h.dispatcher.process() == 1 and received(overview) is not None


def test_a_new_page_of_a_waiting_group_is_still_brought_up_to_date(app, world, clock):
    h = Harness(app, wide_interval=0.5)
    first = h.open(world.owner, "/admin")
    h.changed(world.runs.fresh, as_of=T0)
    received(first)
    clock.advance(0.1)
    late = h.open(world.owner, "/admin")
    h.dispatcher.catch_up(late, None)
    assert h.changed(world.runs.fresh, as_of=clock.now()) == 1
    assert received(late) is not None and received(first) is None
    assert h.dispatcher.as_of_for(first) == T0, "the first page still waits with T0's data"
    assert h.dispatcher.schedule.get(group_key(first)).at == T0 + timedelta(seconds=0.5)


# -- the keeper: entitlements re-checked beside the sweeps ----------------------------------


def test_with_a_keeper_sweeps_never_re_read_scopes_and_the_keeper_ends_lost_access(
    app, db, world, monkeypatch
):
    h = Harness(app, scope_ttl=0)
    viewer = h.open(world.viewer, f"/admin/t/{world.a.uuid}")
    reads = []
    real = keeper.scopes_of_members
    monkeypatch.setattr(
        keeper, "scopes_of_members", lambda pairs: reads.extend(sorted(pairs)) or real(pairs)
    )
    h.dispatcher.kept_apart = True
    db.session.query(Membership).filter_by(user_id=world.viewer.id).delete()
    db.session.commit()

    assert h.changed(world.runs.fresh) == 1 and reads == []
    assert received(viewer) is not None
    h.dispatcher.keep(send_timeout=5)
    assert reads == [(world.viewer.id, world.ws.id)] and viewer.closing == REVOKED
    viewer.offer("a page rendered before the keeper noticed")
    assert received(viewer) is None, "an ended client takes no new page"


def test_the_worker_runs_a_keeper_beside_its_sweeps(app):
    class Slow:
        def __init__(self):
            self.schedule = live_render_schedule()
            self.kept = threading.Event()
            self.kept_apart = False

        def process(self):
            time.sleep(0.2)  # a long sweep

        def keep(self, send_timeout):
            self.kept.set()

        def lanes_allowed(self):
            return False

        def submit(self, changes, as_of):
            pass

        def wait(self, timeout):
            time.sleep(min(timeout, 0.01))

    slow = Slow()
    worker = LiveWorker(app, slow, tick=0.01).start()
    try:
        assert slow.kept_apart
        assert slow.kept.wait(0.15), "kept while the first sweep still runs"
    finally:
        worker.stop()
    assert not slow.kept_apart


def live_render_schedule():
    from app.live.timer import Schedule

    return Schedule()


def test_a_viewer_s_transitions_from_the_workspace_read_are_its_own_runs_only(
    app, world, policy, viewer_b
):
    memo = SweepMemo()
    with render_context(app):
        seen = {}
        for user in (world.owner, world.viewer, viewer_b):
            scope = watch_for(app, user, "/admin")[1]
            reads = RunReads(scope, policy, T0)
            rows, complete = live_render._shared_transitions(memo, reads)
            assert complete and rows == reads.transitions(live_render.PLAN_LIMIT)[0]
            seen[user] = {run_id for _, run_id, _ in rows}
    assert memo.misses == 1
    runs = world.runs
    assert runs.b_fresh.id in seen[world.owner] and runs.fresh.id in seen[world.owner]
    assert runs.b_fresh.id not in seen[world.viewer] and runs.fresh.id in seen[world.viewer]
    assert runs.fresh.id not in seen[viewer_b] and runs.b_fresh.id in seen[viewer_b]
