"""A deeper list page keeps its rows and says how many runs arrived above it."""

from urllib.parse import parse_qs, urlsplit

from tests.conftest import T0, login
from tests.factories import make_member, make_run, make_tenant, make_user, make_workspace
from tests.web.html import parse


def _page(client, url):
    html = parse(client.get(url).get_data(as_text=True))
    ids = [int(n.attrs["data-run-id"]) for n in html.find_all("data-run-id", tag="tr")]
    links = [
        n.attrs["href"] for n in html.find_all(tag="a") if "cursor=" in n.attrs.get("href", "")
    ]
    return html, ids, links


def test_a_deeper_page_counts_new_runs_instead_of_shifting(client, db):
    ws = make_workspace(name="Acme")
    tenant = make_tenant(ws, slug="alpha", name="Alpha")
    owner = make_user()
    make_member(owner, ws, "owner")
    first = [make_run(ws, tenant, now=T0, age=600 - i) for i in range(60)]
    login(client, owner)

    html, ids, links = _page(client, "/admin/operations")
    assert ids[0] == first[-1].id and len(ids) == 50
    assert html.find("data-newer") is None
    older = links[0]
    assert parse_qs(urlsplit(older).query)["since_id"] == [str(first[-1].id)]

    _, deep_before, _ = _page(client, older)
    new = [make_run(ws, tenant, now=T0, age=5) for _ in range(3)]
    html, deep_after, _ = _page(client, older)

    assert deep_after == deep_before  # nothing shifts under the reader
    notice = html.find("data-newer")
    assert notice.attrs["data-newer"] == "3"
    assert "3 newer runs since this list was opened" in notice.text
    assert {run.id for run in new}.isdisjoint(deep_after)


def test_the_notice_counts_only_what_the_viewer_may_see_on_this_tab(client, db):
    ws = make_workspace(name="Acme")
    seen = make_tenant(ws, slug="alpha", name="Alpha")
    hidden = make_tenant(ws, slug="bravo", name="Bravo")
    viewer = make_user()
    make_member(viewer, ws, "viewer", tenants=[seen])
    for i in range(55):
        make_run(ws, seen, now=T0, age=900 - i)
    login(client, viewer)
    _, _, links = _page(client, "/admin/operations?activeTab=active")
    make_run(ws, hidden, now=T0, age=5)
    make_run(ws, seen, now=T0, status="completed", completed_ago=1)
    make_run(ws, seen, now=T0, age=5)

    html, _, _ = _page(client, links[0])

    assert html.find("data-newer").attrs["data-newer"] == "1"


def test_a_bad_since_id_is_a_400(client, db):
    ws = make_workspace(name="Acme")
    owner = make_user()
    make_member(owner, ws, "owner")
    login(client, owner)
    response = client.get("/admin/operations?cursor=MjAyNi0xMS0yNlQxMjowMDowMHwx&since_id=x")
    assert response.status_code == 400
