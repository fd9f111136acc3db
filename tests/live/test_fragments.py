"""Pushed fragments: the same partials as the pages, per page, per visibility, on time."""

import re
from datetime import timedelta

import pytest

from app.live import init_live
from app.live.dispatch import Dispatcher
from app.live.feed import Change
from app.live.fragments import plan, render
from app.live.registry import LiveRegistry, Watch
from app.operations import freshness as fr
from app.operations.freshness import TICK, freshness
from app.operations.visibility import scope_for_user
from tests.conftest import T0
from tests.factories import make_member, make_run, make_tenant, make_user, make_workspace
from tests.live.conftest import FakeSocket
from tests.web.html import parse

MIN = 60


@pytest.fixture
def shop(db, app):
    init_live(app)
    ws = make_workspace()
    a = make_tenant(ws, name="Alpha")
    b = make_tenant(ws, name="Bravo")
    owner, viewer_a = make_user(), make_user()
    make_member(owner, ws, "owner")
    make_member(viewer_a, ws, "viewer", tenants=[a])
    fresh = make_run(ws, a, now=T0, age=2 * MIN, heartbeat_ago=20, processed=4, total=10)
    stale = make_run(ws, a, now=T0, age=25 * MIN, heartbeat_ago=20 * MIN)
    b_run = make_run(ws, b, now=T0, age=MIN, heartbeat_ago=5)
    return ws, a, b, owner, viewer_a, fresh, stale, b_run


def streams(markup):
    """{target: parsed template content} of a stream message."""
    found = re.findall(
        r'<turbo-stream action="replace" method="morph" target="([^"]+)"><template>(.*?)'
        r"</template></turbo-stream>",
        str(markup),
        flags=re.S,
    )
    return {target: parse(html) for target, html in found}


def run_ids(node):
    return {int(n.attrs["data-run-id"]) for n in node.find_all("data-run-id")}


def test_tenant_page_streams_kpis_attention_overlay_and_rows(app, shop):
    ws, a, b, owner, viewer_a, fresh, stale, b_run = shop
    scope = scope_for_user(viewer_a, ws.id)

    out = streams(render(Watch("tenant", ws.id, a.id), scope, [fresh]))

    assert set(out) == {
        "tenant-kpis",
        "needs-attention",
        "active-operations",
        f"run-row-{fresh.id}",
    }
    kpis = {n.attrs["data-kpi"]: n.text for n in out["tenant-kpis"].find_all("data-kpi")}
    assert kpis == {"active": "2", "likely_stale": "1", "follow_up_24h": "0"}
    assert run_ids(out["active-operations"]) == {fresh.id, stale.id}
    assert run_ids(out["needs-attention"]) == {stale.id}
    assert out["active-operations"].find(tag="turbo-frame").attrs["id"] == "active-operations"
    everything = "".join(str(n.text) for n in out.values())
    assert "Bravo" not in everything and b_run.id not in set().union(*map(run_ids, out.values()))


def test_overview_cards_show_only_visible_tenants(app, shop):
    ws, a, b, owner, viewer_a, fresh, stale, b_run = shop

    viewer = streams(render(Watch("workspace", ws.id), scope_for_user(viewer_a, ws.id), []))
    owner_view = streams(render(Watch("workspace", ws.id), scope_for_user(owner, ws.id), []))

    def cards(out):
        return {
            n.attrs["data-tenant-card"] for n in out["tenant-cards"].find_all("data-tenant-card")
        }

    assert cards(viewer) == {a.uuid}
    assert cards(owner_view) == {a.uuid, b.uuid}

    def totals(out):
        return {
            n.attrs["data-total"]: n.text for n in out["workspace-totals"].find_all("data-total")
        }

    # the viewer's totals never count tenant b's run
    assert totals(viewer)["active"] == "2" and totals(owner_view)["active"] == "3"


def test_detail_streams_status_and_banner(app, shop, clock):
    ws, a, b, owner, viewer_a, fresh, stale, b_run = shop
    out = streams(render(Watch("run", ws.id, a.id, stale.id), scope_for_user(owner, ws.id), []))
    status = out["run-status"]
    section = status.find("data-run-id")
    assert section.attrs["data-freshness"] == fr.LIKELY_STALE
    assert status.find("data-banner").attrs["data-banner"] == "likely_stale"


def test_list_rows_keep_the_list_filters_in_their_links(app, shop):
    ws, a, b, owner, viewer_a, fresh, stale, b_run = shop
    page = f"/admin/operations?tenant_id={a.id}&activeTab=active"
    watch = Watch("list", ws.id, a.id, page=page)

    out = streams(render(watch, scope_for_user(owner, ws.id), [fresh]))

    row = out[f"run-row-{fresh.id}"].find(tag="tr")
    link = row.find(tag="a").attrs["href"]
    assert link.startswith(f"/admin/operations/{fresh.id}?back=")
    assert "activeTab%3Dactive" in link
    assert "active-operations" in out


def test_plan_names_the_next_time_only_transition(app, shop, policy, clock):
    ws, a, b, owner, viewer_a, fresh, stale, b_run = shop
    scope = scope_for_user(owner, ws.id)

    at, ids = plan(Watch("tenant", ws.id, a.id), scope, clock.now())

    assert ids == (fresh.id,)
    assert at == freshness(fresh, policy, clock.now()).next_transition_at
    assert at == fresh.last_heartbeat_at + timedelta(minutes=5) + TICK
    assert plan(Watch("run", ws.id, a.id, stale.id), scope, clock.now()) is None
    assert plan(Watch("page", ws.id), scope, clock.now()) is None


def test_a_page_flips_when_its_transition_comes_without_any_write(app, shop, clock, policy):
    ws, a, b, owner, viewer_a, fresh, stale, b_run = shop
    registry = LiveRegistry()
    dispatcher = Dispatcher(app, registry, render, plan)
    socket = FakeSocket()
    client = registry.connect(
        socket, viewer_a.id, Watch("tenant", ws.id, a.id), scope_for_user(viewer_a, ws.id)
    )
    dispatcher.catch_up(client, None)
    due = dispatcher.schedule.next_at()
    assert due == freshness(fresh, policy, clock.now()).next_transition_at

    clock.set(due - TICK)
    assert dispatcher.fire_due() == 0 and socket.sent == []

    clock.set(due)
    assert dispatcher.fire_due() == 1
    flipped = streams(socket.sent[-1])
    cards = {
        int(n.attrs["data-run-id"]): n.attrs["data-freshness"]
        for n in flipped["active-operations"].find_all("data-run-id")
    }
    assert cards[fresh.id] == fr.LIKELY_STALE, "silent for 5 min: straight to likely stale"
    assert dispatcher.schedule.next_at() is None, "nothing left to flip by time alone"


def test_pushes_after_a_change_use_the_real_partials(app, shop, clock):
    ws, a, b, owner, viewer_a, fresh, stale, b_run = shop
    registry = LiveRegistry()
    dispatcher = Dispatcher(app, registry, render, plan)
    on_a, on_b = FakeSocket(), FakeSocket()
    scope = scope_for_user(viewer_a, ws.id)
    registry.connect(on_a, viewer_a.id, Watch("tenant", ws.id, a.id), scope)
    registry.connect(on_b, owner.id, Watch("tenant", ws.id, b.id), scope_for_user(owner, ws.id))

    dispatcher([Change(1, b_run.id, ws.id, b.id)])

    assert on_a.sent == []
    assert run_ids(streams(on_b.sent[0])["active-operations"]) == {b_run.id}
