"""A pushed page is the route's own #page-content, built by the same page model, on time."""

import threading
from datetime import timedelta

import pytest
from flask import has_request_context

from app.live.groups import group_key
from app.live.registry import WATCH_PAGE, Watch
from app.live.render import REFRESH_SECONDS, plan, render, render_context
from app.models import ReconcilerLease, ReconcilerPass
from app.operations import freshness as fr
from app.operations.clock import isoformat
from app.operations.freshness import TICK, freshness
from tests.conftest import T0, counted, login
from tests.factories import add_events, make_member, make_run, make_user, make_workspace
from tests.live.conftest import Harness, fragment_of, page_content, received, run_ids, watch_for
from tests.web.html import kpis, parse, tab_counts

MIN = 60
PAGES = {
    "overview": lambda w: "/admin",
    "tenant": lambda w: f"/admin/t/{w.a.uuid}",
    "list": lambda w: "/admin/operations",
    "list_filtered": lambda w: f"/admin/operations?tenant_id={w.a.id}&activeTab=active",
    "list_stale_tab": lambda w: f"/admin/operations?activeTab={fr.ACTIVE_STALE_ATTENTION}",
    "detail": lambda w: f"/admin/operations/{w.runs.fresh.id}?back=/admin/operations",
    "reconciler": lambda w: "/admin/reconciler",
}


def live_render(app, watch, scope, now, as_of=None):
    """Render on a thread of its own, as the live worker does: no request context at all
    (pytest-flask keeps one pushed on the test's own thread)."""
    result = {}

    def work():
        with render_context(app):
            result["request"] = has_request_context()
            result["stream"] = render(watch, scope, now, as_of=as_of)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(30)
    assert result["request"] is False
    return result["stream"]


@pytest.mark.parametrize("who", ["owner", "viewer"])
@pytest.mark.parametrize("name", list(PAGES))
def test_every_live_page_renders_what_its_route_shows(app, world, clock, who, name):
    user = getattr(world, who)
    page = PAGES[name](world)
    watch, scope = watch_for(app, user, page)
    assert watch.endpoint is not None and watch.kind != WATCH_PAGE

    fragment = fragment_of(live_render(app, watch, scope, clock.now()))
    document = login(app.test_client(), user).get(page)
    assert document.status_code == 200
    routed = page_content(document.get_data(as_text=True))

    live, full = parse(fragment), parse(routed)
    assert run_ids(live) == run_ids(full)
    assert tab_counts(live) == tab_counts(full)
    assert kpis(live) == kpis(full)
    assert fragment == routed, "the same page model, the same markup"
    assert "http://localhost" not in fragment and "//localhost" not in fragment
    hrefs = [a.attrs["href"] for a in live.find_all("href")]
    assert all(href.startswith(("/", "#", "?")) for href in hrefs)
    assert hrefs or watch.kind == "reconciler"
    for frame in live.find_all("src"):
        assert frame.attrs["src"].startswith("/"), frame.attrs["src"]
    assert live.find(attr="id", value="page-content").attrs["data-as-of"] == isoformat(T0)


def test_a_viewer_s_pages_never_carry_a_hidden_tenant(app, world, clock):
    hidden = {world.runs.b_stale.id, world.runs.b_fresh.id, world.runs.other_stale.id}
    for page in ("/admin", "/admin/operations", "/admin/operations?activeTab=active"):
        viewer = run_ids(fragment_of(live_render(app, *watch_for(app, world.viewer, page), T0)))
        owner = run_ids(fragment_of(live_render(app, *watch_for(app, world.owner, page), T0)))
        assert viewer and not viewer & hidden, page
        assert {world.runs.b_stale.id, world.runs.b_fresh.id} & owner, page
        assert world.runs.other_stale.id not in owner


def test_the_stream_carries_the_instant_its_data_is_current_to(app, world, clock):
    watch, scope = watch_for(app, world.owner, "/admin")
    as_of = T0 - timedelta(seconds=3)
    fragment = fragment_of(live_render(app, watch, scope, T0, as_of=as_of))
    assert parse(fragment).find(attr="id", value="page-content").attrs["data-as-of"] == (
        isoformat(as_of)
    )


def test_pages_that_are_not_live_render_nothing(app, world):
    with render_context(app):
        assert render(Watch(WATCH_PAGE, world.ws.id, page="/admin/workspaces"), None, T0) is None
        assert plan(Watch(WATCH_PAGE, world.ws.id), None, T0) is None


def test_list_links_keep_the_list_filters(app, world):
    page = f"/admin/operations?tenant_id={world.a.id}&activeTab=active"
    fragment = parse(fragment_of(live_render(app, *watch_for(app, world.owner, page), T0)))
    link = next(
        a.attrs["href"]
        for a in fragment.find_all("href")
        if a.attrs["href"].startswith(f"/admin/operations/{world.runs.fresh.id}?")
    )
    assert "back=" in link and "activeTab%3Dactive" in link


# -- plan: the next change by time alone ----------------------------------------------------


def test_plan_names_the_next_freshness_transition(app, world, policy):
    watch, scope = watch_for(app, world.owner, f"/admin/t/{world.a.uuid}")
    active = (world.runs.fresh, world.runs.past, world.runs.stale)
    first = min(at for at in (freshness(r, policy, T0).next_transition_at for r in active) if at)
    now = first - timedelta(seconds=10)

    at, ids = plan(watch, scope, now)

    assert at == first
    assert ids == tuple(r.id for r in active if freshness(r, policy, now).next_transition_at == at)
    assert ids and world.runs.b_fresh.id not in ids


def test_plan_falls_back_to_the_ceiling(app, world):
    stale = f"/admin/operations/{world.runs.stale.id}"
    watch, scope = watch_for(app, world.owner, stale)
    assert plan(watch, scope, T0) == (T0 + timedelta(seconds=REFRESH_SECONDS), ())

    far = T0 - timedelta(days=30)  # every transition is more than the ceiling away
    watch, scope = watch_for(app, world.owner, f"/admin/t/{world.a.uuid}")
    at, ids = plan(watch, scope, far)
    assert (at, ids) == (far + timedelta(seconds=REFRESH_SECONDS), ())


def test_the_reconciler_page_is_planned_a_second_after_the_next_pass(app, db, world):
    app.config["RECONCILER_INTERVAL_SECONDS"] = 10
    db.session.add(ReconcilerPass(started_at=T0 - timedelta(seconds=4), holder="r", scanned=0))
    db.session.add(
        ReconcilerLease(
            name="reconciler",
            holder="r",
            acquired_at=T0 - timedelta(seconds=4),
            expires_at=T0 + timedelta(minutes=1),
        )
    )
    db.session.commit()
    watch, scope = watch_for(app, world.owner, "/admin/reconciler")

    assert plan(watch, scope, T0) == (T0 + timedelta(seconds=7), ())
    app.config["RECONCILER_INTERVAL_SECONDS"] = 3600
    # no pass for an hour: the page next changes when the lease lapses, a minute from now
    assert plan(watch, scope, T0) == (T0 + timedelta(minutes=1) + TICK, ())


def test_a_page_flips_exactly_at_its_transition_without_any_write(app, world, clock, policy):
    quiet = make_run(world.ws, world.a, now=T0, age=2 * MIN, heartbeat_ago=5 * MIN - 10)
    h = Harness(app)
    client = h.open(world.viewer, f"/admin/t/{world.a.uuid}")
    h.dispatcher.catch_up(client, None)
    assert h.dispatcher.process() == 1
    assert received(client) is not None

    due = h.dispatcher.schedule.next_at()
    assert due == freshness(quiet, policy, T0).next_transition_at
    assert due == T0 + timedelta(seconds=10) + TICK
    clock.set(due - TICK)
    assert h.dispatcher.process() == 0 and received(client) is None

    clock.set(due)
    assert h.dispatcher.process() == 1
    flipped = parse(fragment_of(received(client)))
    states = {
        int(n.attrs["data-run-id"]): n.attrs["data-freshness"]
        for n in flipped.find_all("data-freshness")
        if "data-run-id" in n.attrs
    }
    assert states[quiet.id] == fr.LIKELY_STALE, "silent for 5 min: likely stale"
    assert states[world.runs.fresh.id] == fr.FRESH
    # planned again from the flip: for the next change of its runs, not a fixed refresh
    planned = h.dispatcher.schedule.get(group_key(client)).at
    assert due < planned == plan(client.watch, client.scope, due)[0]
    assert planned < due + timedelta(seconds=REFRESH_SECONDS)


def _detail_push(app, db, events):
    """(statements, stream) of the push a detail page gets when its run (with ``events``
    timeline events) changes."""
    ws, owner = make_workspace(), make_user()
    make_member(owner, ws, "owner")
    run = make_run(ws, now=T0)
    add_events(db, run, events, start=T0 - timedelta(seconds=events))
    harness = Harness(app)
    page = harness.open(owner, f"/admin/operations/{run.id}")
    with counted(db) as statements:
        harness.changed(run)
    return statements, received(page)


def test_a_push_reads_one_page_of_a_long_timeline_never_the_whole(app, db, clock):
    """A detail page's push reads the newest page of the timeline (one keyset LIMIT read)
    and the total from the run: a run with 3,000 events costs the statements one with 3
    costs, and its push carries one page of events, not 3,000."""
    short_statements, short = _detail_push(app, db, 3)
    long_statements, long = _detail_push(app, db, 3000)
    timeline = [s for s in long_statements if "FROM run_events" in s]
    assert len(timeline) == 1 and "LIMIT" in timeline[0].upper()
    assert len(long_statements) == len(short_statements)
    assert short.count("data-event-id") == 3 + 1  # and the event make_run wrote
    assert long.count("data-event-id") == 50


def test_a_transition_during_a_slow_render_is_still_planned(app, world, clock, monkeypatch):
    """The plan starts from the instant the render showed: a run turning stale while the
    page was being rendered is planned (due at once), not skipped until some later change."""
    from app.live import dispatch

    make_run(world.ws, world.a, now=T0, age=2 * MIN, heartbeat_ago=5 * MIN - 1)
    turns = T0 + timedelta(seconds=1) + TICK  # its heartbeat silence passes 5 min
    real = dispatch.render

    def slow(*args, **kwargs):
        stream = real(*args, **kwargs)
        clock.advance(2)  # the render took 2 s: the transition passed meanwhile
        return stream

    monkeypatch.setattr(dispatch, "render", slow)
    h = Harness(app)
    client = h.open(world.owner, f"/admin/t/{world.a.uuid}")
    h.dispatcher.catch_up(client, None)
    assert h.dispatcher.process() == 1
    assert h.dispatcher.schedule.get(group_key(client)).at == turns
