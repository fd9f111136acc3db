"""Every surface shows each freshness state with the same badge, hooks and emphasis."""

import pytest

from tests.conftest import login
from tests.web.html import parse, runs_by_id

# run name in the world -> (data-freshness, data-problem-class, badge label)
EXPECTED = {
    "fresh": ("fresh", "none", "Running"),
    "past": ("past_expected", "none", "Running long"),
    "stale": ("likely_stale", "active_stale_attention", "Likely stale"),
    "reconciled": ("reconciled_failed", "terminal_follow_up", "Failed · reconciled"),
}
ACTIVE = ("fresh", "past", "stale")


def assert_states(root, runs, names):
    found = runs_by_id(root)
    for name in names:
        run = getattr(runs, name)
        node = found[run.id]
        freshness, problem, label = EXPECTED[name]
        assert node.attrs["data-freshness"] == freshness, name
        assert node.attrs["data-problem-class"] == problem, name
        assert label in node.text, name
        escalated = "emph-danger" in node.classes()
        assert escalated == (freshness == "likely_stale"), name
        if name in ("fresh", "past"):
            assert "Likely stale" not in node.text
            assert "closed as failed" not in node.text


def get(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return parse(response.data)


@pytest.fixture
def owner_client(client, world):
    return login(client, world.owner)


def test_overview_recent_runs_show_each_state(owner_client, world):
    assert_states(get(owner_client, "/admin"), world.runs, EXPECTED)


def test_tenant_dashboard_shows_each_state(owner_client, world):
    root = get(owner_client, f"/admin/t/{world.a.uuid}")
    recent = root.find("aria-labelledby", "recent-title")
    assert_states(recent, world.runs, EXPECTED)
    attention = root.find("id", "needs-attention")
    stale_group = attention.find("data-attention", "active_stale_attention")
    assert set(runs_by_id(stale_group)) == {world.runs.stale.id}
    follow = attention.find("data-attention", "terminal_follow_up")
    assert set(runs_by_id(follow)) == {world.runs.reconciled.id, world.runs.failed.id}
    assert_states(stale_group, world.runs, ["stale"])


def test_overlay_shows_active_states_calm_or_escalated(owner_client, world):
    root = get(owner_client, f"/admin/t/{world.a.uuid}/active-operations")
    assert_states(root, world.runs, ACTIVE)
    items = runs_by_id(root)
    assert "emph-warning" in items[world.runs.past.id].classes()
    assert "emph-neutral" in items[world.runs.fresh.id].classes()


def test_list_rows_show_each_state(owner_client, world):
    assert_states(get(owner_client, "/admin/operations"), world.runs, EXPECTED)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_detail_shows_state(owner_client, world, name):
    run = getattr(world.runs, name)
    root = get(owner_client, f"/admin/operations/{run.id}")
    assert root.find("id", "run-status").attrs["data-run-id"] == str(run.id)
    assert_states(root, world.runs, [name])


def test_stale_guidance_says_expected_observed_and_when(owner_client, world):
    root = get(owner_client, f"/admin/t/{world.a.uuid}/active-operations")
    stale = runs_by_id(root)[world.runs.stale.id]
    assert (
        "Likely stale: no heartbeat for 20 min (limit 5 min). "
        "Will be closed as failed at 12:15 UTC unless it reports progress." in stale.text
    )
    past = runs_by_id(root)[world.runs.past.id]
    assert "Running longer than expected" in past.text
    assert "still within its 30 min window until 12:15 UTC" in past.text


def test_mixed_tenant_is_not_summarised_as_all_stale(owner_client, world):
    overview = get(owner_client, "/admin")
    card = overview.find("data-tenant-card", world.b.uuid)
    assert card.attrs["data-state"] == "likely_stale"
    assert "2 active · 1 likely stale" in card.text
    assert "all" not in card.find("class", "tenant-summary").text
    overlay = get(owner_client, f"/admin/t/{world.b.uuid}/active-operations")
    assert "2 active · 1 likely stale" in overlay.find("class", "overlay-summary").text


def test_healthy_tenant_card_is_calm(owner_client, world, db):
    from tests.conftest import T0
    from tests.factories import make_run, make_tenant

    calm = make_tenant(world.ws, name="Calm")
    make_run(world.ws, calm, now=T0, age=60, heartbeat_ago=5)
    make_run(world.ws, calm, now=T0, age=90, heartbeat_ago=5)
    card = get(owner_client, "/admin").find("data-tenant-card", calm.uuid)
    assert card.attrs["data-state"] == "healthy"
    assert "2 active, all on track" in card.text
    assert "stale" not in card.find("class", "tenant-summary").text.lower()
