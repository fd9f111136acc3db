"""The detail page pages its timeline like the API, in the same order, at the same cost."""

from datetime import timedelta

import pytest

from app.operations.lifecycle import LateReport, heartbeat
from app.operations.tokens import create_token
from tests.conftest import T0, counted, login
from tests.factories import add_events, make_member, make_run, make_user, make_workspace
from tests.web.html import parse


@pytest.fixture
def owner_ws(client, db):
    ws = make_workspace(slug="acme")
    owner = make_user()
    make_member(owner, ws, "owner")
    login(client, owner)
    return ws


def _page(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    root = parse(response.data)
    ids = [int(e.attrs["data-event-id"]) for e in root.find_all("data-event-id")]
    older = root.find("data-events-older")
    return root, ids, older.attrs["href"] if older else None


def test_the_page_and_the_api_read_the_same_events_in_the_same_order(client, db, owner_ws):
    run = make_run(owner_ws, now=T0, type="inventory_sync", age=3600)
    add_events(db, run, 119, start=T0 - timedelta(minutes=30))
    for minutes in (3, 9, 1):  # backfilled, out of order: id order is not time order
        heartbeat(
            run, now=T0, actor="w", processed=10 - minutes, at=T0 - timedelta(minutes=minutes)
        )
    secret = create_token(owner_ws, "reader", now=T0).secret
    headers = {"Authorization": f"Bearer {secret}"}

    page_ids, url, pages = [], f"/admin/operations/{run.id}?back=/admin/operations", 0
    while url:
        root, ids, url = _page(client, url)
        page_ids += ids
        pages += 1
        if pages == 1:
            assert "The 50 newest of 123 events" in root.text
            assert root.find("data-events-newest") is None
        else:
            assert root.find("data-events-newest").attrs["href"].endswith("back=/admin/operations")
    api_ids, cursor = [], None
    while True:
        query = f"?events_before={cursor}" if cursor else ""
        body = client.get(f"/api/v1/runs/{run.id}{query}", headers=headers).get_json()
        api_ids += [e["id"] for e in body["events"]]
        cursor = body["events_next"]
        if cursor is None:
            break
    assert pages == 3
    assert page_ids == api_ids
    assert len(set(page_ids)) == 123


def test_the_page_says_how_many_late_reports_were_counted(client, db, app, owner_ws, clock):
    app.config["TIMELINE_LATE_REPORTS_KEPT"] = 1
    run = make_run(owner_ws, now=T0, status="completed", reconciled=True)
    for minutes in (1, 2, 3):
        with pytest.raises(LateReport):
            heartbeat(run, now=T0 + timedelta(minutes=minutes), actor="w", processed=1)
    root, _ids, _older = _page(client, f"/admin/operations/{run.id}")
    [line] = root.find_all("data-omitted")
    assert line.text == "2 more late reports arrived, the last at 12:03 UTC: counted, not listed."
    assert [e.attrs["data-event"] for e in root.find_all("data-event")] == [
        "late_report",
        "created",
    ]


def test_a_cursor_that_is_not_ours_answers_400(client, owner_ws):
    run = make_run(owner_ws, now=T0)
    assert client.get(f"/admin/operations/{run.id}?events_before=nope").status_code == 400


def test_the_page_costs_the_same_for_a_long_timeline(client, db, owner_ws):
    small, large = make_run(owner_ws, now=T0), make_run(owner_ws, now=T0)
    add_events(db, small, 3)
    add_events(db, large, 3000)
    costs = []
    for run_id in (small.id, large.id):
        _page(client, f"/admin/operations/{run_id}")  # warm: the session's first use
        with counted(db) as statements:
            _root, ids, _older = _page(client, f"/admin/operations/{run_id}")
        timeline = [s for s in statements if "run_events" in s]
        assert len(timeline) == 1 and "LIMIT" in timeline[0].upper()
        costs.append((len(statements), len(ids)))
    assert costs[1] == (costs[0][0], 50)
    assert costs[0][1] == 4
