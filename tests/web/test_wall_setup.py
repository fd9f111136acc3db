"""The overview's wall-screen setup: a form (working without JavaScript) naming every
tenant the viewer may see, and only those, with "every tenant with problems" besides."""

from tests.conftest import T0, login
from tests.factories import make_member, make_run, make_tenant, make_user, make_workspace
from tests.web.html import parse

HOSTILE = "Zeta <script>alert(1)</script> \"' & " + "n" * 150


def wall_form(client):
    page = parse(client.get("/admin").data)
    setup = page.find("id", "wall-setup")
    assert setup is not None and "data-turbo-permanent" in setup.attrs
    return setup


def values(setup):
    return [n.attrs["value"] for n in setup.find_all("name", "cycle", tag="input")]


def test_the_wall_setup_names_every_visible_tenant_by_name_and_problems(client, db):
    ws, other = make_workspace(), make_workspace()
    alpha, zeta = make_tenant(ws, name="alpha"), make_tenant(ws, name=HOSTILE)
    beta = make_tenant(ws, name="Beta")
    make_tenant(other, name="Elsewhere")
    make_run(ws, zeta, now=T0, age=3600)  # likely stale: a problem
    owner = make_user()
    make_member(owner, ws, "owner")
    login(client, owner)
    setup = wall_form(client)
    # "problems" first, then tenants by name in any case; no other workspace's tenant.
    assert values(setup) == ["problems", alpha.uuid, beta.uuid, zeta.uuid]
    assert HOSTILE in setup.text  # escaped text, not markup
    assert setup.find(tag="script") is None
    form = setup.find(tag="form")
    assert form.attrs["method"] == "get" and form.attrs["action"] == "/admin"
    hidden = {n.attrs["name"]: n.attrs["value"] for n in form.find_all("type", "hidden")}
    assert hidden == {"wall": "1"}
    every = form.find("name", "every")
    assert (every.attrs["min"], every.attrs["value"], every.attrs["max"]) == ("10", "60", "3600")
    # The overview marks the tenants with problems, which the wall reads.
    page = parse(client.get("/admin?view=table").data)
    problems = [n.attrs["data-tenant-card"] for n in page.find_all("data-problem")]
    assert problems == [zeta.uuid]
    hidden = page.find("id", "wall-setup").find_all("type", "hidden")
    assert {n.attrs["name"]: n.attrs["value"] for n in hidden} == {"wall": "1", "view": "table"}


def test_a_viewer_is_offered_only_the_tenants_granted(client, db):
    ws = make_workspace()
    granted, hidden = make_tenant(ws, name="Granted"), make_tenant(ws, name="Hidden")
    viewer = make_user()
    make_member(viewer, ws, "viewer", tenants=[granted])
    login(client, viewer)
    setup = wall_form(client)
    assert values(setup) == ["problems", granted.uuid]
    assert "Hidden" not in setup.text and hidden.uuid not in str(setup.attrs)


def test_the_form_opens_the_overview_with_the_wall_parameters(client, db):
    ws = make_workspace()
    tenant = make_tenant(ws, name="Only")
    owner = make_user()
    make_member(owner, ws, "owner")
    login(client, owner)
    response = client.get(f"/admin?wall=1&cycle=problems&cycle={tenant.uuid}&every=10")
    assert response.status_code == 200
    assert parse(response.data).find("data-tenant-card", tenant.uuid) is not None
