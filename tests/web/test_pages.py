"""Every page renders on the demo data; sign-in, workspace choice, empty states and errors."""

import sqlalchemy as sa

from app.models import OperationRun, Tenant, User, Workspace
from tests.conftest import login
from tests.factories import make_member, make_user, make_workspace
from tests.web.html import parse, tab_counts


def seed_demo(app):
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output


def test_every_route_renders_on_the_demo_data(app, client, db):
    seed_demo(app)
    owner = db.session.scalar(sa.select(User).where(User.email == "owner@example.com"))
    login(client, owner)
    workspace = db.session.scalar(sa.select(Workspace).where(Workspace.slug == "acme"))
    tenants = db.session.scalars(sa.select(Tenant).where(Tenant.workspace_id == workspace.id))
    runs = db.session.scalars(
        sa.select(OperationRun.id).where(OperationRun.workspace_id == workspace.id)
    ).all()
    urls = ["/admin", "/admin/workspaces", "/admin/operations"]
    for tenant in tenants:
        urls += [f"/admin/t/{tenant.uuid}", f"/admin/t/{tenant.uuid}/active-operations"]
        for tab in ("all", "active", "active_stale_attention", "terminal_follow_up"):
            urls.append(f"/admin/operations?tenant_id={tenant.id}&activeTab={tab}")
    urls += [f"/admin/operations/{run_id}" for run_id in runs]
    assert len(runs) > 50
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_demo_viewer_sees_only_granted_tenants(app, client, db):
    seed_demo(app)
    viewer = db.session.scalar(sa.select(User).where(User.email == "viewer@example.com"))
    login(client, viewer)
    cards = parse(client.get("/admin").data).find_all("data-tenant-card")
    assert len(cards) == 1
    hidden = db.session.scalar(sa.select(Tenant).where(Tenant.slug == "fabrikam"))
    assert client.get(f"/admin/t/{hidden.uuid}").status_code == 404


def test_pages_require_sign_in(client, world):
    for url in ("/admin", "/admin/operations", f"/admin/t/{world.a.uuid}", "/admin/workspaces"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


def test_one_workspace_never_asks_to_choose(client, world):
    login(client, world.owner)
    root = parse(client.get("/admin").data)
    assert root.find(tag="h1").text == "Acme"


def test_several_workspaces_choose_then_switch(client, world, db):
    login(client, world.owner)
    assert client.get("/admin").status_code == 200
    second = make_workspace(name="Second")
    make_member(world.owner, second, "viewer")
    kept = client.get("/admin")  # the workspace chosen earlier stays in the session
    assert kept.status_code == 200 and parse(kept.data).find(tag="h1").text == "Acme"
    fresh_client = client.application.test_client()
    login(fresh_client, world.owner)
    response = fresh_client.get("/admin")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/workspaces")
    page = parse(fresh_client.get("/admin/workspaces").data)
    assert {"Acme", "Second"} <= {n.text for n in page.find_all("class", "workspace-title")}
    switched = fresh_client.post(f"/admin/workspaces/{second.id}/select")
    assert switched.status_code == 303
    assert parse(fresh_client.get("/admin").data).find(tag="h1").text == "Second"


def test_user_without_workspace_is_told_so(client, db):
    login(client, make_user())
    assert client.get("/admin").status_code == 302
    assert b"not a member of any workspace" in client.get("/admin/workspaces").data


def test_each_tab_has_its_own_empty_state(client, world, db):
    login(client, world.owner)
    quiet = make_workspace(name="Quiet")
    make_member(world.outsider, quiet, "owner")
    login(client, world.outsider)
    client.post(f"/admin/workspaces/{quiet.id}/select")
    titles = set()
    for tab in ("all", "active", "active_stale_attention", "terminal_follow_up"):
        root = parse(client.get(f"/admin/operations?activeTab={tab}").data)
        assert tab_counts(root)[tab] == 0
        titles.add(root.find("class", "empty-title").text)
    assert len(titles) == 4


def test_bad_query_parameters_answer_400(client, world):
    login(client, world.owner)
    for query in (
        "activeTab=nope",
        "status=sleeping",
        "problemClass=x",
        "cursor=%%%",
        "tenant_id=x",
    ):
        assert client.get(f"/admin/operations?{query}").status_code == 400, query


def test_ids_beyond_the_database_range_are_404(client, world):
    login(client, world.owner)
    huge = 2**64
    assert client.get(f"/admin/operations/{huge}").status_code == 404
    assert client.get(f"/admin/operations?tenant_id={huge}").status_code == 404


def test_unknown_page_is_a_404_in_the_layout(client, world):
    login(client, world.owner)
    response = client.get("/admin/nowhere")
    assert response.status_code == 404
    assert b"Page not found" in response.data and b"Runwarden" in response.data
