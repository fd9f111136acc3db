"""Nobody sees a tenant, run or count they are not entitled to; outside is a plain 404."""

import pytest

from tests.conftest import login
from tests.web.html import kpis, parse, runs_by_id, tab_counts


def status(client, url):
    return client.get(url).status_code


def test_viewer_gets_404_for_another_tenant_everywhere(client, world):
    login(client, world.viewer)
    b, runs = world.b, world.runs
    assert status(client, f"/admin/t/{b.uuid}") == 404
    assert status(client, f"/admin/t/{b.uuid}/active-operations") == 404
    assert status(client, f"/admin/operations/{runs.b_stale.id}") == 404
    assert status(client, f"/admin/operations?tenant_id={b.id}") == 404
    assert status(client, f"/admin/t/{world.a.uuid}") == 200
    assert status(client, f"/admin/operations/{runs.stale.id}") == 200
    assert status(client, f"/admin/operations/{runs.ws_level.id}") == 200


def test_404_page_gives_no_hint_that_the_run_exists(client, world):
    login(client, world.viewer)
    hidden = client.get(f"/admin/operations/{world.runs.b_stale.id}")
    missing = client.get("/admin/operations/999999")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.data == missing.data
    assert b"Bravo" not in hidden.data


def test_viewer_overview_and_counts_exclude_hidden_tenants(client, world):
    login(client, world.viewer)
    overview = parse(client.get("/admin").data)
    assert [c.attrs["data-tenant-card"] for c in overview.find_all("data-tenant-card")] == [
        world.a.uuid
    ]
    shown = set(runs_by_id(overview))
    assert world.runs.b_stale.id not in shown and world.runs.b_fresh.id not in shown
    totals = {n.attrs["data-total"]: int(n.text) for n in overview.find_all("data-total")}
    # tenant a: fresh, past, stale active; workspace-level: one fresh run
    assert totals["active"] == 4
    assert totals["likely_stale"] == 1
    counts = tab_counts(parse(client.get("/admin/operations").data))
    assert counts == {"all": 7, "active": 4, "active_stale_attention": 1, "terminal_follow_up": 2}
    listed = parse(client.get("/admin/operations").data)
    assert world.runs.b_stale.id not in runs_by_id(listed)
    assert b"Bravo" not in client.get("/admin/operations").data


def test_owner_counts_include_every_tenant(client, world):
    login(client, world.owner)
    counts = tab_counts(parse(client.get("/admin/operations").data))
    assert counts == {"all": 9, "active": 6, "active_stale_attention": 2, "terminal_follow_up": 2}


@pytest.mark.parametrize(
    "path",
    [
        "/admin/t/{a.uuid}",
        "/admin/t/{a.uuid}/active-operations",
        "/admin/operations/{run.id}",
        "/admin/operations?tenant_id={a.id}",
    ],
)
def test_user_of_another_workspace_gets_404(client, world, path):
    login(client, world.outsider)
    assert status(client, path.format(a=world.a, run=world.runs.stale)) == 404


def test_user_of_another_workspace_sees_only_their_own(client, world):
    login(client, world.outsider)
    overview = parse(client.get("/admin").data)
    assert set(runs_by_id(overview)) == {world.runs.other_stale.id}
    assert [c.attrs["data-tenant-card"] for c in overview.find_all("data-tenant-card")] == [
        world.c.uuid
    ]
    counts = tab_counts(parse(client.get("/admin/operations").data))
    assert counts["all"] == 1
    dashboard = parse(client.get(f"/admin/t/{world.c.uuid}").data)
    assert kpis(dashboard) == {
        "active": 1,
        "past_expected": 0,
        "likely_stale": 1,
        "follow_up_24h": 0,
    }


def test_workspace_select_refuses_a_workspace_the_user_is_not_in(client, world):
    login(client, world.outsider)
    assert client.post(f"/admin/workspaces/{world.ws.id}/select").status_code == 404
    assert set(runs_by_id(parse(client.get("/admin").data))) == {world.runs.other_stale.id}
