"""GET /runs: keyset pages, tabs, filters and workspace isolation."""

import base64

import pytest

from tests.api.conftest import error_of, writes_nothing
from tests.conftest import T0
from tests.factories import make_run, make_tenant


@pytest.fixture
def runs(workspace, tenant):
    other = make_tenant(workspace, slug="fabrikam")
    made = [
        make_run(workspace, tenant if i % 2 else other, now=T0, type="inventory_sync", age=60 + i)
        for i in range(7)
    ]
    made.append(make_run(workspace, tenant, now=T0, type="baseline_compare", age=99999))
    made.append(make_run(workspace, None, now=T0, status="completed", outcome="failed"))
    made.append(make_run(workspace, tenant, now=T0, status="queued", type="report_export"))
    return made


def ids(response):
    assert response.status_code == 200, response.get_json()
    return [run["id"] for run in response.get_json()["runs"]]


def test_pages_walk_every_run_once_newest_first(api, runs):
    seen, cursor, pages = [], None, 0
    while True:
        query = "limit=3" + (f"&cursor={cursor}" if cursor else "")
        body = api.get(f"/api/v1/runs?{query}").get_json()
        assert len(body["runs"]) <= 3
        seen += body["runs"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 4
    assert sorted(run["id"] for run in seen) == sorted(run.id for run in runs)
    created = [run["created_at"] for run in seen]
    assert created == sorted(created, reverse=True)


def test_default_page_and_tenant_loaded(api, runs, tenant):
    body = api.get("/api/v1/runs").get_json()
    assert body["next_cursor"] is None
    assert len(body["runs"]) == len(runs)
    slugs = {run["tenant"]["slug"] if run["tenant"] else None for run in body["runs"]}
    assert slugs == {"contoso", "fabrikam", None}


def test_tabs_use_the_freshness_truth(api, runs):
    stale, failed, queued = runs[-3:]
    assert ids(api.get("/api/v1/runs?tab=active_stale_attention")) == [stale.id]
    assert ids(api.get("/api/v1/runs?tab=terminal_follow_up")) == [failed.id]
    assert failed.id not in ids(api.get("/api/v1/runs?tab=active"))
    listed = api.get("/api/v1/runs?tab=active_stale_attention").get_json()["runs"][0]
    assert (listed["freshness"], listed["problem_class"]) == (
        "likely_stale",
        "active_stale_attention",
    )


def test_filters(api, runs, tenant):
    by_tenant = set(ids(api.get("/api/v1/runs?tenant=contoso")))
    assert by_tenant == {r.id for r in runs if r.tenant_id == tenant.id}
    assert set(ids(api.get(f"/api/v1/runs?tenant={tenant.uuid}"))) == by_tenant
    assert ids(api.get("/api/v1/runs?type=report_export")) == [runs[-1].id]
    assert ids(api.get("/api/v1/runs?status=queued")) == [runs[-1].id]
    assert ids(api.get("/api/v1/runs?status=completed&type=report_export")) == []
    assert ids(api.get("/api/v1/runs?type=retired_type")) == []


def test_a_token_never_sees_another_workspace(api, other_api, db, runs, other_workspace):
    ws_b, tenant_b = other_workspace
    foreign = make_run(ws_b, tenant_b, now=T0, type="inventory_sync")
    assert foreign.id not in ids(api.get("/api/v1/runs"))
    assert foreign.id not in ids(api.get("/api/v1/runs?tab=active"))
    assert ids(other_api.get("/api/v1/runs")) == [foreign.id]
    error_of(api.get(f"/api/v1/runs/{foreign.id}"), 404, "run_not_found")
    with writes_nothing(db):
        error_of(api.get("/api/v1/runs?tenant=globex-t"), 404, "tenant_not_found")
        error_of(other_api.get("/api/v1/runs?tenant=contoso"), 404, "tenant_not_found")
    cursor = api.get("/api/v1/runs?limit=1").get_json()["next_cursor"]
    assert ids(other_api.get(f"/api/v1/runs?cursor={cursor}")) == [foreign.id]


@pytest.mark.parametrize("run_id", [2**63, -(2**70), "x"])
def test_a_forged_cursor_is_refused(api, runs, run_id):
    raw = f"2026-11-26T13:00:00|{run_id}"
    cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    error = error_of(api.get(f"/api/v1/runs?cursor={cursor}"), 422, "validation_failed")
    assert set(error["fields"]) == {"cursor"}


@pytest.mark.parametrize("created", ["2026-11-26T13:00:00", "2026-11-26T20:00:00+05:00"])
def test_a_forged_cursor_in_range_only_moves_the_page(api, runs, created):
    raw = f"{created}|{2**63 - 1}"
    cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    assert len(ids(api.get(f"/api/v1/runs?cursor={cursor}"))) == len(runs)
