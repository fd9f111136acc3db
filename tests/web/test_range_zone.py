"""The list's custom time range in the reader's zone: "from" and "to" are wall times in the
zone ``tz`` names (UTC without it), both bounds exact to the second, the zone named on the
page, bad zones refused."""

from datetime import datetime, timedelta

import pytest

from app.extensions import db as database
from app.operations.search import parse_instant, time_zone
from tests.conftest import T0, login
from tests.factories import make_member, make_run, make_tenant, make_user, make_workspace
from tests.web.html import parse, runs_by_id

# T0 is 2026-11-26 12:00 UTC: 07:00 in New York (EST, UTC-5), 21:00 in Tokyo (UTC+9).
FROM_UTC = datetime(2026, 11, 26, 9, 0, 0)
TO_UTC = datetime(2026, 11, 26, 10, 0, 0)


@pytest.fixture
def site(db):
    ws = make_workspace()
    tenant = make_tenant(ws, name="Alpha")
    owner = make_user()
    make_member(owner, ws, "owner")
    at = {
        "before_from": FROM_UTC - timedelta(seconds=1),
        "at_from": FROM_UTC,
        "inside": FROM_UTC + timedelta(minutes=30),
        "before_to": TO_UTC - timedelta(seconds=1),
        "at_to": TO_UTC,
    }
    runs = {}
    for key, created in at.items():
        run = make_run(ws, tenant, now=T0, status="completed", age=600, completed_ago=60)
        run.created_at = created
        runs[key] = run
    database.session.commit()
    return owner, {key: run.id for key, run in runs.items()}


def found(client, query):
    response = client.get(f"/admin/operations?{query}")
    assert response.status_code == 200, query
    return set(runs_by_id(parse(response.data))), response


IN_RANGE = {"at_from", "inside", "before_to"}


@pytest.mark.parametrize(
    "query",
    [
        "from=2026-11-26T09:00&to=2026-11-26T10:00",
        "from=2026-11-26T09:00&to=2026-11-26T10:00&tz=UTC",
        "from=2026-11-26T04:00&to=2026-11-26T05:00&tz=America/New_York",
        "from=2026-11-26T18:00&to=2026-11-26T19:00&tz=Asia/Tokyo",
        "from=2026-11-26T04:00:00&to=2026-11-26T04:59:59&tz=America/New_York",
        "from=2026-11-26T09:00Z&to=2026-11-26T11:00%2B01:00&tz=Asia/Tokyo",
    ],
)
def test_a_range_in_any_zone_keeps_the_run_at_from_and_not_the_second_before(client, site, query):
    owner, ids = site
    login(client, owner)
    shown, _ = found(client, query)
    expected = IN_RANGE if "04:59:59" not in query else IN_RANGE - {"before_to"}
    assert shown == {ids[key] for key in expected}


def test_the_page_names_the_zone_its_range_is_read_in(client, site):
    owner, _ = site
    login(client, owner)
    _, response = found(client, "from=2026-11-26T04:00&tz=America/New_York")
    page = parse(response.data)
    labels = [s.text for s in page.find_all("data-zone-label")]
    assert labels == ["America/New_York", "America/New_York"]
    assert page.find("name", "tz").attrs["value"] == "America/New_York"
    assert page.find("name", "from").attrs["value"] == "2026-11-26T04:00"
    # Without a zone (no JavaScript has named one) the page says UTC and means it.
    _, response = found(client, "from=2026-11-26T09:00")
    page = parse(response.data)
    assert [s.text for s in page.find_all("data-zone-label")] == ["UTC", "UTC"]
    assert page.find("name", "tz").attrs["value"] == "UTC"


@pytest.mark.parametrize(
    "tz",
    [
        "Mars/Olympus_Mons",
        "../../../etc/passwd",
        "/etc/localtime",
        "Europe/../Europe/Berlin",
        "A" * 300,
        "Europe/Berlin\x00",
        "Europe Berlin",
        "%00",
    ],
)
def test_a_zone_that_is_not_one_is_refused(client, site, tz):
    owner, _ = site
    login(client, owner)
    response = client.get("/admin/operations", query_string={"from": "2026-11-26T09:00", "tz": tz})
    assert response.status_code == 400
    assert b"time zone" in response.data or b"NUL" in response.data


def test_wall_times_across_a_daylight_saving_change():
    berlin = time_zone("Europe/Berlin")
    # Summer (CEST, UTC+2) and winter (CET, UTC+1).
    assert parse_instant("2026-07-01T12:00", berlin) == datetime(2026, 7, 1, 10, 0)
    assert parse_instant("2026-11-26T12:00", berlin) == datetime(2026, 11, 26, 11, 0)
    # 02:30 on 2026-03-29 does not exist in Berlin, 02:30 on 2026-10-25 happens twice:
    # both are read with the offset in force before the change (fold=0).
    assert parse_instant("2026-03-29T02:30", berlin) == datetime(2026, 3, 29, 1, 30)
    assert parse_instant("2026-10-25T02:30", berlin) == datetime(2026, 10, 25, 0, 30)
    assert parse_instant("2026-11-26T12:00", time_zone("")) == datetime(2026, 11, 26, 12, 0)
    with pytest.raises(ValueError):
        time_zone("Nowhere/Special")
