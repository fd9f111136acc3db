"""The reconciler's own freshness, and the /admin/reconciler page."""

from datetime import timedelta

import pytest

from app.models import ReconcilerLease, ReconcilerPass, Workspace
from app.operations import get_policy
from app.operations import reconciler_status as rs
from app.operations.clock import isoformat
from app.operations.clock import now as clock_now
from app.operations.reads import RunReads, SystemReads
from app.operations.visibility import scope_for_user
from app.presenter.formatting import plain
from app.presenter.reconciler import stale_warning, status_message
from tests.conftest import T0, login
from tests.factories import make_member, make_run, make_tenant, make_user, make_workspace
from tests.web.html import parse

S = timedelta(seconds=1)
CONFIG = {"RUNWARDEN_RECONCILER": "external", "RECONCILER_INTERVAL_SECONDS": 30}


def add_pass(db, started, finished=None, errors=None, holder="h:1 (reconciler)", **counts):
    record = ReconcilerPass(
        started_at=started,
        finished_at=finished,
        holder=holder,
        scanned=counts.get("scanned", 0),
        reconciled=counts.get("reconciled", 0),
        skipped=0,
        error_count=counts.get("error_count", 0),
        errors=errors,
    )
    db.session.add(record)
    db.session.commit()
    return record


def hold_lease(db, holder, expires_at):
    db.session.merge(
        ReconcilerLease(name="reconciler", holder=holder, acquired_at=T0, expires_at=expires_at)
    )
    db.session.commit()


def test_switched_off_is_not_stale_but_says_so(app, db):
    status = rs.reconciler_status(T0, {**CONFIG, "RUNWARDEN_RECONCILER": "off"})
    assert (status.state, status.looks_stale) == ("off", False)
    assert "switched off" in status_message(status)


def test_never_ran_looks_stale_and_points_to_the_process(app, db):
    status = rs.reconciler_status(T0, CONFIG)
    assert (status.state, status.looks_stale) == ("never_ran", True)
    assert "python -m reconciler" in status_message(status)
    assert status.next_pass_at is None and status.lease_holder is None


def test_stale_after_three_intervals_without_a_finished_pass(app, db):
    add_pass(db, T0 - S, T0)
    add_pass(db, T0 + 60 * S)  # started, never finished
    at_limit = rs.reconciler_status(T0 + 90 * S, CONFIG)
    assert (at_limit.state, at_limit.looks_stale, at_limit.last_success_at) == (
        "healthy",
        False,
        T0,
    )
    words = status_message(at_limit)
    assert plain(words) == "The last pass finished 1 min ago; passes run every 30 s."
    # the time since the last pass counts on in the browser from that pass's end
    assert f'<span data-since="{isoformat(T0)}">1 min</span>' in words
    late = rs.reconciler_status(T0 + 91 * S, CONFIG)
    assert (late.state, late.looks_stale) == ("stale", True)
    assert plain(status_message(late)) == (
        "The reconciler looks stale: no pass has finished for 1 min (passes are due every 30 s)."
    )
    assert f'<span data-since="{isoformat(T0)}">1 min</span>' in status_message(late)


def test_the_stale_warning_follows_the_status(app, db):
    add_pass(db, T0, T0)
    assert stale_warning(rs.reconciler_status(T0 + 90 * S, CONFIG)) is None
    assert "looks stale" in stale_warning(rs.reconciler_status(T0 + 91 * S, CONFIG))
    assert stale_warning(None) is None


def test_next_pass_and_lease_holder(app, db):
    add_pass(db, T0, T0 + S)
    hold_lease(db, "web-1:42:ab (embedded)", T0 + 5 * S)
    status = rs.reconciler_status(T0 + 2 * S, CONFIG)
    assert (status.lease_holder, status.lease_live) == ("web-1:42:ab (embedded)", True)
    assert status.next_pass_at == T0 + 30 * S
    overdue = rs.reconciler_status(T0 + 5 * S, {**CONFIG, "RECONCILER_INTERVAL_SECONDS": 3})
    assert overdue.next_pass_at == T0 + 5 * S
    expired = rs.reconciler_status(T0 + 6 * S, CONFIG)
    assert (expired.lease_live, expired.next_pass_at) == (False, None)
    assert expired.lease_holder == "web-1:42:ab (embedded)"


def test_pass_outcomes(app, db):
    app.config.update(CONFIG)
    add_pass(db, T0, T0 + S)
    add_pass(db, T0 + 2 * S, T0 + 3 * S, errors=[{"pass": "stopped", "error": "stopped"}])
    add_pass(db, T0 + 4 * S, None, errors=[{"pass": "aborted", "error": "OperationalError: x"}])
    add_pass(db, T0 + 5 * S)
    add_pass(db, T0 + 6 * S)
    records = rs.recent_passes(now=T0 + 7 * S)
    assert [r.outcome for r in records] == [
        "running",
        "interrupted",
        "aborted",
        "stopped",
        "finished",
    ]
    assert records[-1].duration_seconds == 1
    assert [r.outcome for r in rs.recent_passes(now=T0 + 97 * S)][0] == "interrupted"


@pytest.fixture
def errors_world(db):
    ws, other = make_workspace(), make_workspace()
    seen, hidden = make_tenant(ws), make_tenant(ws)
    viewer = make_user()
    make_member(viewer, ws, "viewer", tenants=[seen])
    runs = [
        make_run(ws, seen, now=T0),
        make_run(ws, hidden, now=T0),
        make_run(other, None, now=T0),
    ]
    errors = [{"run_id": r.id, "error": f"ValueError: run {r.id}"} for r in runs]
    errors.append({"pass": "aborted", "error": "OperationalError: gone"})
    add_pass(db, T0, None, errors=errors, error_count=4)
    return viewer, runs


def runs_visible_to(user):
    """A ``can_see_run`` for recent_passes: the ids among ``run_ids`` ``user`` may see in
    any of their workspaces."""

    def can_see(run_ids):
        at, policy = clock_now(), get_policy()
        visible = set()
        for workspace_id in SystemReads(policy, at).workspaces_of(run_ids):
            scope = scope_for_user(user, workspace_id)
            if scope is not None:
                visible.update(RunReads(scope, policy, at).visible_ids(run_ids))
        return visible

    return can_see


def test_errors_on_runs_the_viewer_cannot_see_are_neither_shown_nor_counted(app, db, errors_world):
    viewer, runs = errors_world
    [record] = rs.recent_passes(now=T0, can_see_run=runs_visible_to(viewer))
    assert [e.run_id for e in record.errors] == [runs[0].id, None]
    assert record.error_count == 2
    assert not hasattr(record, "hidden_errors")


def test_errors_are_those_of_the_scope_only(app, db, errors_world):
    viewer, runs = errors_world
    make_member(viewer, db.session.get(Workspace, runs[2].workspace_id), "owner")
    everywhere = rs.recent_passes(now=T0, can_see_run=runs_visible_to(viewer))[0]
    assert [e.run_id for e in everywhere.errors] == [runs[0].id, runs[2].id, None]
    scope = scope_for_user(viewer, runs[0].workspace_id)
    reads = RunReads(scope, get_policy(), T0)
    [record] = rs.recent_passes(now=T0, can_see_run=rs.runs_visible_in(reads))
    assert [e.run_id for e in record.errors] == [runs[0].id, None]
    assert record.error_count == 2


def error_cell(row):
    """The Errors cell of a pass row: its leading count."""
    cells = row.find_all(tag="td")
    return int(cells[4].text.split()[0])


def test_the_page_needs_a_signed_in_user(app, client):
    response = client.get("/admin/reconciler")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_page_shows_state_passes_and_the_stale_warning(app, db, client, clock, errors_world):
    viewer, runs = errors_world
    app.config.update(CONFIG)
    add_pass(db, T0 - 200 * S, T0 - 199 * S, scanned=4, reconciled=3)
    login(client, viewer)
    response = client.get("/admin/reconciler")
    assert response.status_code == 200
    page = parse(response.get_data(as_text=True))
    assert page.find("data-reconciler-state").attrs["data-reconciler-state"] == "stale"
    assert "looks stale" in page.find("data-reconciler-warning").text
    rows = page.find_all("data-pass-id")
    assert [r.attrs["data-pass-outcome"] for r in rows] == ["aborted", "finished"]
    texts = [e.text for e in page.find_all("data-pass-error")]
    assert texts == [f"Run #{runs[0].id}: ValueError: run {runs[0].id}", "OperationalError: gone"]
    assert error_cell(rows[0]) == 2  # the viewer's run and the pass itself; never the others
    html = response.get_data(as_text=True)
    assert "cannot see" not in html
    for hidden in runs[1:]:
        assert f"ValueError: run {hidden.id}" not in html and f"Run #{hidden.id}" not in html


def test_a_viewer_page_never_counts_hidden_tenants_or_other_workspaces(
    app, db, client, clock, errors_world
):
    viewer, runs = errors_world
    app.config.update(CONFIG)
    other = db.session.get(Workspace, runs[2].workspace_id)
    make_member(viewer, other, "owner")  # sees every run there, but not on this workspace's page
    login(client, viewer)
    with client.session_transaction() as session:
        session["workspace_id"] = runs[0].workspace_id
    response = client.get("/admin/reconciler")
    assert response.status_code == 200
    page = parse(response.get_data(as_text=True))
    [row] = page.find_all("data-pass-id")
    assert error_cell(row) == 2
    assert [e.text for e in page.find_all("data-pass-error")] == [
        f"Run #{runs[0].id}: ValueError: run {runs[0].id}",
        "OperationalError: gone",
    ]


def test_a_healthy_reconciler_shows_no_warning(app, db, client, clock):
    app.config.update(CONFIG)
    user = make_user()
    make_member(user, make_workspace(), "owner")
    add_pass(db, T0 - 10 * S, T0 - 9 * S)
    hold_lease(db, "web-1:42:ab (embedded)", T0 + 4 * S)
    login(client, user)
    page = parse(client.get("/admin/reconciler").get_data(as_text=True))
    assert page.find("data-reconciler-state").attrs["data-reconciler-state"] == "healthy"
    assert page.find("data-reconciler-warning") is None
    assert "web-1:42:ab (embedded)" in page.find("data-lease-holder").text


def test_the_page_counts_only_runs_the_user_may_see(app, db, client, clock):
    from reconciler.reconcile import run_pass

    app.config.update(CONFIG)
    mine, theirs = make_workspace(), make_workspace()
    seen, hidden = make_tenant(mine), make_tenant(mine)
    viewer = make_user()
    make_member(viewer, mine, "viewer", tenants=[seen])
    for workspace, tenant in ((mine, seen), (mine, hidden), (theirs, make_tenant(theirs))):
        make_run(workspace, tenant, now=T0, age=99999, heartbeat_ago=99999)
    make_run(mine, None, now=T0, age=99999, heartbeat_ago=99999)
    summary = run_pass(holder="test")
    assert summary.reconciled == 4
    login(client, viewer)
    page = parse(client.get("/admin/reconciler").get_data(as_text=True))
    row = page.find("data-pass-id", str(summary.pass_id))
    # the granted tenant's run and the workspace-level run; never the hidden tenant or Globex
    assert row.find("data-pass-reconciled").text == "2"
