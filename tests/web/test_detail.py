"""The canonical detail: banner per state, decision truth, facts, timeline, context."""

import pytest

from app.operations.lifecycle import LateReport, heartbeat
from tests.conftest import login
from tests.web.html import parse


def detail(client, run):
    response = client.get(f"/admin/operations/{run.id}")
    assert response.status_code == 200
    return parse(response.data)


@pytest.mark.parametrize(
    "name, banner, title",
    [
        ("stale", "likely_stale", "Likely stale operation"),
        ("past", "past_expected", "Running longer than expected"),
        ("reconciled", "reconciled_failed", "Closed by the reconciler"),
    ],
)
def test_banner_per_state(client, world, name, banner, title):
    login(client, world.owner)
    root = detail(client, getattr(world.runs, name))
    banners = root.find_all("data-banner")
    assert [b.attrs["data-banner"] for b in banners] == [banner]
    assert title in banners[0].text


def test_stale_banner_says_expected_observed_and_reconciliation(client, world):
    login(client, world.owner)
    text = detail(client, world.runs.stale).find("data-banner").text
    assert "A heartbeat at least every 5 min" in text
    assert "Last heartbeat 20 min ago (11:40 UTC)" in text
    assert "Will be closed as failed at 12:15 UTC unless it reports progress." in text


@pytest.mark.parametrize("name", ["fresh", "succeeded", "failed"])
def test_no_banner_when_nothing_to_diagnose(client, world, name):
    login(client, world.owner)
    assert detail(client, getattr(world.runs, name)).find_all("data-banner") == []


def test_reconciled_run_keeps_late_reports_on_its_timeline(client, world, clock):
    login(client, world.owner)
    run = world.runs.reconciled
    with pytest.raises(LateReport):
        heartbeat(run, now=clock.now(), actor="worker-1", processed=3)
    root = detail(client, run)
    events = [e.attrs["data-event"] for e in root.find_all("data-event")]
    assert events == ["late_report", "created"]  # newest first
    late = root.find("data-event", "late_report")
    assert "Late report" in late.text and "worker-1" in late.text
    assert "Late reports from the worker are kept" in root.find("id", "run-status").text
    assert root.find("id", "run-status").attrs["data-freshness"] == "reconciled_failed"


def test_facts_and_context(client, world, db):
    login(client, world.owner)
    run = world.runs.fresh
    run.context = {"baseline": "CIS Level 1"}
    run.initiator = "schedule:nightly"
    db.session.commit()
    root = detail(client, run)
    facts = {
        n.find(tag="dt").text: n.find(tag="dd").text for n in root.find("class", "facts").children
    }
    assert facts["Tenant"] == "Alpha"
    assert facts["Status"] == "Running"
    assert facts["Initiator"] == "schedule:nightly"
    assert facts["Progress"] == "40 of 100 (40%)"
    assert '"baseline": "CIS Level 1"' in root.find("class", "json").text
    assert "Running normally" in root.find("class", "decision-headline").text
    times = root.find("class", "facts").find_all(tag="time")
    assert times and all(t.attrs["title"].endswith("UTC") and t.attrs["datetime"] for t in times)


def test_workspace_level_run_says_so(client, world):
    login(client, world.owner)
    root = detail(client, world.runs.ws_level)
    facts = {
        n.find(tag="dt").text: n.find(tag="dd").text for n in root.find("class", "facts").children
    }
    assert facts["Tenant"] == "Workspace-level"


def _durations(root):
    """{label: dd node} of the Queue wait and Run time facts."""
    nodes = {n.find(tag="dt").text: n.find(tag="dd") for n in root.find("class", "facts").children}
    return {k: v for k, v in nodes.items() if k in ("Queue wait", "Run time")}


def test_a_duration_still_going_counts_on_in_the_page(client, world):
    """A queued run's wait and a running run's time are spans the browser ages from their
    start (``data-since``), never text frozen at the render; ended ones are plain text."""
    login(client, world.owner)
    queued = _durations(detail(client, world.runs.b_stale))
    assert list(queued) == ["Queue wait"]
    assert (
        queued["Queue wait"].find(tag="span").attrs["data-since"] == "2026-11-26T11:40:00.000000Z"
    )
    assert queued["Queue wait"].text == "20 min"
    running = _durations(detail(client, world.runs.past))
    assert running["Run time"].find(tag="span").attrs["data-since"] == "2026-11-26T11:45:00.000000Z"
    done = _durations(detail(client, world.runs.succeeded))
    assert all(node.find(tag="span") is None for node in done.values())


def test_a_completed_run_says_how_long_ago_in_a_time_that_ages(client, world):
    login(client, world.owner)
    status = detail(client, world.runs.succeeded).find("id", "run-status")
    assert "Completed 10 min ago, at 11:50 UTC." in status.text
    ago = status.find("data-rel")
    assert ago.text == "10 min ago" and ago.attrs["datetime"] == "2026-11-26T11:50:00.000000Z"
