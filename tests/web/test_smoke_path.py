"""Dashboard -> stale call to action -> filtered list -> row -> detail -> back to the same list."""

from urllib.parse import parse_qs, urlsplit

from tests.conftest import T0, login
from tests.factories import make_run
from tests.web.html import parse, runs_by_id


def test_stale_path_from_dashboard_to_detail_and_back(client, world):
    login(client, world.owner)
    dashboard = parse(client.get(f"/admin/t/{world.a.uuid}").data)
    cta = dashboard.find("id", "needs-attention").find("class", "button button-danger")
    list_url = cta.attrs["href"]
    query = parse_qs(urlsplit(list_url).query)
    assert urlsplit(list_url).path == "/admin/operations"
    assert query == {
        "tenant_id": [str(world.a.id)],
        "activeTab": ["active_stale_attention"],
        "problemClass": ["active_stale_attention"],
    }

    listing = parse(client.get(list_url).data)
    rows = listing.find_all("data-run-id", tag="tr")
    assert [int(r.attrs["data-run-id"]) for r in rows] == [world.runs.stale.id]
    assert "Tenant: Alpha" in listing.find("class", "context-banner").text
    selected = [t for t in listing.find_all("data-tab") if t.attrs.get("aria-current") == "page"]
    assert [t.attrs["data-tab"] for t in selected] == ["active_stale_attention"]

    detail_url = rows[0].find(tag="a").attrs["href"]
    detail = parse(client.get(detail_url).data)
    assert detail.find("data-banner").attrs["data-banner"] == "likely_stale"
    assert "Likely stale operation" in detail.find("data-banner").text
    back = next(a for a in detail.find_all(tag="a") if a.text == "Back to operations")
    assert back.attrs["href"] == list_url
    again = parse(client.get(back.attrs["href"]).data)
    assert [int(r.attrs["data-run-id"]) for r in again.find_all("data-run-id", tag="tr")] == [
        world.runs.stale.id
    ]


def test_back_link_keeps_tab_filters_and_page(client, world, db):
    login(client, world.owner)
    for index in range(60):
        make_run(world.ws, world.b, now=T0, status="completed", completed_ago=100 + index)
    url = f"/admin/operations?activeTab=all&tenant_id={world.b.id}&status=completed"
    first = parse(client.get(url).data)
    older = next(a for a in first.find("class", "pager").find_all(tag="a") if "Older" in a.text)
    page_two = older.attrs["href"]
    assert "cursor=" in page_two and "status=completed" in page_two
    listing = parse(client.get(page_two).data)
    rows = listing.find_all("data-run-id", tag="tr")
    assert rows and not set(runs_by_id(first)) & {int(r.attrs["data-run-id"]) for r in rows}
    detail = parse(client.get(rows[0].find(tag="a").attrs["href"]).data)
    back = next(a for a in detail.find_all(tag="a") if a.text == "Back to operations")
    assert back.attrs["href"] == page_two


def test_back_link_refuses_other_places(client, world):
    login(client, world.owner)
    for evil in ("https://evil.example/admin/operations", "//evil.example/x", "/admin/t/x"):
        response = client.get(
            f"/admin/operations/{world.runs.stale.id}", query_string={"back": evil}
        )
        detail = parse(response.data)
        back = next(a for a in detail.find_all(tag="a") if a.text == "Back to operations")
        assert back.attrs["href"] == "/admin/operations"
