"""Finding a run: search by id and text, a created-at range, duration order, paging both
ways with the position shown; and the overview's severity order and filters."""

from datetime import timedelta

import pytest

from app.extensions import db as database
from tests.conftest import T0, login
from tests.factories import make_member, make_run, make_tenant, make_user, make_workspace
from tests.web.html import parse, runs_by_id


@pytest.fixture
def site(db):
    ws = make_workspace()
    a = make_tenant(ws, name="Alpha")
    owner = make_user()
    make_member(owner, ws, "owner")
    runs = []
    for n in range(120):
        run = make_run(ws, a, now=T0, status="completed", age=n * 600 + 60, completed_ago=n * 600)
        run.initiator = "nightly-sync" if n % 2 else "alice@example.test"
        run.context = {"ticket": f"OPS-{n}"}
        runs.append(run)
    odd = make_run(ws, a, now=T0, status="completed", age=7200, completed_ago=60, outcome="failed")
    odd.failure_message = "Quota_exceeded 100% on mailbox store"
    database.session.commit()
    return ws, a, owner, runs, odd


def ids(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return list(runs_by_id(parse(response.data)))


def test_search_finds_runs_by_id_initiator_context_and_message(client, site):
    _, _, owner, runs, odd = site
    login(client, owner)
    assert ids(client, f"/admin/operations?q=%23{odd.id}") == [odd.id]
    assert ids(client, "/admin/operations?q=OPS-17") == [runs[17].id]
    assert ids(client, "/admin/operations?q=quota_EXCEEDED 100%") == [odd.id]
    assert ids(client, "/admin/operations?q=100%25 on") == [odd.id]
    alice = ids(client, "/admin/operations?q=ALICE")
    assert alice and all(r.id in alice for r in runs[:50:2])
    assert ids(client, "/admin/operations?q=nobody-at-all") == []


def test_a_time_range_keeps_only_runs_created_in_it(client, site):
    _, _, owner, runs, _ = site
    login(client, owner)
    hour = ids(client, "/admin/operations?range=1h")
    expected = {r.id for r in runs if r.created_at >= T0 - timedelta(hours=1)}
    assert set(hour) - {site[4].id} == expected
    start = (T0 - timedelta(hours=3)).isoformat(timespec="minutes")
    end = (T0 - timedelta(hours=2)).isoformat(timespec="minutes")
    found = set(ids(client, f"/admin/operations?from={start}&to={end}"))
    lo, hi = T0 - timedelta(hours=3), T0 - timedelta(hours=2)
    assert found == {r.id for r in [*runs, site[4]] if lo <= r.created_at < hi}
    assert client.get("/admin/operations?range=1y").status_code == 400
    assert client.get("/admin/operations?from=yesterday").status_code == 400


def test_sort_by_duration_puts_the_longest_first(client, site):
    _, _, owner, _, odd = site
    login(client, owner)
    found = ids(client, "/admin/operations?sort=duration")
    assert found[0] == odd.id  # 7140 s; the others ran 60 s


def test_paging_goes_older_and_newer_with_its_position(client, site):
    login(client, site[2])
    first = parse(client.get("/admin/operations").data)
    assert first.find("data-position").text.startswith("Runs 1–50 of 121")
    older = first.find("data-page-older").attrs["href"]
    second = parse(client.get(older).data)
    assert second.find("data-position").text.startswith("Runs 51–100 of 121")
    newer = second.find("data-page-newer").attrs["href"]
    back = parse(client.get(newer).data)
    assert list(runs_by_id(back)) == list(runs_by_id(first))
    assert back.find("data-position").text.startswith("Runs 1–50 of 121")


def test_overview_sorts_by_severity_and_filters(client, db):
    ws = make_workspace()
    quiet = make_tenant(ws, name="Aardvark")
    never = make_tenant(ws, name="Abacus")
    follow = make_tenant(ws, name="Mango")
    stale = make_tenant(ws, name="Zulu")
    make_run(ws, quiet, now=T0, status="completed", age=3 * 86400)
    make_run(ws, follow, now=T0, status="completed", outcome="failed", age=600, completed_ago=300)
    make_run(ws, stale, now=T0, age=3600)
    owner = make_user()
    make_member(owner, ws, "owner")
    database.session.commit()
    login(client, owner)

    def states(url):
        root = parse(client.get(url).data)
        return [
            (c.attrs["data-tenant-card"], c.attrs["data-state"])
            for c in root.find_all("data-tenant-card")
        ]

    assert states("/admin") == [
        (stale.uuid, "likely_stale"),
        (follow.uuid, "follow_up"),
        (quiet.uuid, "healthy"),
        (never.uuid, "never_reported"),
    ]
    assert states("/admin?problems=1") == [(stale.uuid, "likely_stale"), (follow.uuid, "follow_up")]
    assert states("/admin?q=MAN") == [(follow.uuid, "follow_up")]
    assert len(states("/admin?view=table")) == 4
    page = parse(client.get("/admin").data)
    assert "No runs reported yet" in page.find("data-tenant-card", never.uuid).text
    assert "Quiet for 3 d" in page.find("data-tenant-card", quiet.uuid).text
    assert page.find("id", "page-content").attrs["data-stale-count"] == "1"


def test_a_hash_and_a_number_name_one_run_a_bare_number_also_finds_text(client, site):
    _, a, owner, runs, odd = site
    login(client, owner)
    target = runs[3]
    mention = runs[4]
    mention.failure_message = f"retry of #{target.id} failed"
    database.session.commit()
    assert ids(client, f"/admin/operations?q=%23{target.id}") == [target.id]
    assert ids(client, f"/admin/operations?q=+%23{target.id}+") == [target.id]
    assert set(ids(client, f"/admin/operations?q={target.id}")) >= {target.id, mention.id}
    assert ids(client, "/admin/operations?q=%2399999999") == []
    # Beyond any id: text only, and it is not found.
    assert ids(client, "/admin/operations?q=%2399999999999") == []


def test_a_search_counts_its_matches_up_to_100(client, site):
    _, _, owner, runs, odd = site
    login(client, owner)
    from tests.web.html import tab_counts

    many = parse(client.get("/admin/operations?q=OPS-").data)  # all 120 runs' tickets
    assert tab_counts(many)["all"] == 100
    assert "100+" in many.find("data-tab", "all").text
    few = parse(client.get("/admin/operations?q=OPS-11").data)  # OPS-11, OPS-110..119
    assert tab_counts(few)["all"] == 11
    assert "100+" not in few.find("data-tab", "all").text
    # Without a search the list counts up to 10,000 as before.
    assert tab_counts(parse(client.get("/admin/operations").data))["all"] == 121
