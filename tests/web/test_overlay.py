"""The active operations overlay: every active run (stale included), no terminal ones."""

from app.operations.lifecycle import complete_run
from tests.conftest import T0, login
from tests.factories import make_run, make_tenant
from tests.web.html import parse, runs_by_id


def overlay(client, tenant):
    response = client.get(f"/admin/t/{tenant.uuid}/active-operations")
    assert response.status_code == 200
    return parse(response.data)


def test_tenant_page_embeds_the_frame_with_its_source(client, world):
    login(client, world.owner)
    root = parse(client.get(f"/admin/t/{world.a.uuid}").data)
    frames = root.find_all("id", "active-operations", tag="turbo-frame")
    assert len(frames) == 1
    assert frames[0].attrs["src"] == f"/admin/t/{world.a.uuid}/active-operations"


def test_frame_answer_has_the_frame_without_a_self_source(client, world):
    login(client, world.owner)
    frame = overlay(client, world.a).find("id", "active-operations", tag="turbo-frame")
    assert frame is not None
    assert "src" not in frame.attrs


def test_overlay_lists_stale_runs_and_drops_terminal_ones(client, world, db, clock):
    login(client, world.owner)
    shown = runs_by_id(overlay(client, world.a))
    assert set(shown) == {world.runs.fresh.id, world.runs.past.id, world.runs.stale.id}
    assert shown[world.runs.stale.id].attrs["data-freshness"] == "likely_stale"

    clock.advance(5)
    complete_run(world.runs.fresh, outcome="succeeded", now=clock.now(), actor="worker")
    shown = runs_by_id(overlay(client, world.a))
    assert set(shown) == {world.runs.past.id, world.runs.stale.id}


def test_overlay_lists_stale_first_and_counts_the_overflow(client, world, db):
    login(client, world.owner)
    busy = make_tenant(world.ws, name="Busy")
    for index in range(9):
        make_run(world.ws, busy, now=T0, age=30 + index, heartbeat_ago=5)
    stale = make_run(world.ws, busy, now=T0, age=1500, heartbeat_ago=1200)
    root = overlay(client, busy)
    items = root.find_all("data-run-id")
    assert int(items[0].attrs["data-run-id"]) == stale.id
    assert len(items) == 8
    more = root.find("class", "overlay-more")
    assert "+2 more active" in more.text
    assert "activeTab=active" in more.find(tag="a").attrs["href"]
    assert "10 active · 1 likely stale" in root.find("class", "overlay-summary").text


def test_overlay_polls_fast_with_active_runs_and_slowly_when_empty(client, world, db):
    login(client, world.owner)
    busy = overlay(client, world.a)
    quiet = overlay(client, make_tenant(world.ws, name="Quiet"))
    fast = int(busy.find("data-poll-seconds").attrs["data-poll-seconds"])
    slow = int(quiet.find("data-poll-seconds").attrs["data-poll-seconds"])
    assert fast <= 5 < slow
    assert "No active operations" in quiet.text
    assert quiet.find_all("data-run-id") == []


def test_overlay_turns_a_run_stale_as_time_passes(client, world, clock):
    login(client, world.owner)
    fresh = world.runs.fresh
    assert runs_by_id(overlay(client, world.a))[fresh.id].attrs["data-freshness"] == "fresh"
    clock.advance(6 * 60)
    node = runs_by_id(overlay(client, world.a))[fresh.id]
    assert node.attrs["data-freshness"] == "likely_stale"
    assert "emph-danger" in node.classes()
