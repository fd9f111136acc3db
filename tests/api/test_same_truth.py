"""The API carries the same truth and the same words as the pages."""

from app.operations import freshness as fr
from tests.conftest import T0, login
from tests.factories import make_member, make_run, make_user
from tests.web.html import parse


def test_run_json_badge_and_guidance_match_the_detail_page(api, client, db, workspace, tenant):
    stale = make_run(workspace, tenant, now=T0, age=25 * 60, heartbeat_ago=20 * 60)
    body = api.get(f"/api/v1/runs/{stale.id}").get_json()
    assert body["freshness"] == fr.LIKELY_STALE
    assert body["problem_class"] == fr.ACTIVE_STALE_ATTENTION
    assert (body["badge"]["label"], body["badge"]["tone"]) == ("Likely stale", "danger")
    assert "no heartbeat for 20 min (limit 5 min)" in body["guidance"]

    owner = make_user()
    make_member(owner, workspace, "owner")
    login(client, owner)
    page = parse(client.get(f"/admin/operations/{stale.id}").get_data(as_text=True))
    node = page.find("data-run-id", str(stale.id))
    assert node.attrs["data-freshness"] == body["freshness"]
    assert node.attrs["data-problem-class"] == body["problem_class"]
    assert body["badge"]["label"] in node.text


def test_healthy_run_json_is_calm(api, workspace, tenant):
    fresh = make_run(workspace, tenant, now=T0, age=60, heartbeat_ago=10)
    body = api.get(f"/api/v1/runs/{fresh.id}").get_json()
    assert body["freshness"] == fr.FRESH
    assert body["badge"]["tone"] not in ("danger", "warning")
    assert "stale" not in body["guidance"].lower()
