"""The insights rollup the reconciler's upkeep keeps: whole days rebuilt, so building
twice gives the same rows, and the runs since the mark added to their day as a rebuild
would count them; late completions counted exactly once; the policy's windows
decide which rows are read; two builders at once on PostgreSQL write each row once."""

import threading
from dataclasses import replace
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.models import InsightDay, InsightRollupState
from app.models.insight_rollup import ALL_TENANTS
from app.operations import rollup
from app.operations.insights import Window, summarize
from app.operations.policy import Policy
from app.operations.rollup import LAG, roll_up, rolled_until
from app.operations.visibility import Scope
from reconciler.loop import ReconcilerService
from tests.conftest import T0
from tests.factories import add_runs, make_tenant, make_workspace

NOW = T0  # 2026-11-26 12:00 UTC
S = timedelta(seconds=1)
DAYS = InsightDay.__table__
KEY = "baseline_compare"


def rows(db):
    order = (DAYS.c.workspace_id, DAYS.c.tenant_key, DAYS.c.type, DAYS.c.day)
    return [dict(r) for r in db.session.execute(sa.select(DAYS).order_by(*order)).mappings()]


def roll_all(policy, now):
    while (rolled_until() or datetime.min) < now - LAG:
        roll_up(policy, now)


def succeeded(workspace, policy, now=NOW, tenant_id=None):
    window = Window(Scope(workspace.id, "owner", None), now, tenant_id=tenant_id)
    found = summarize(window, policy).get(KEY)
    return None if found is None else found.counts.succeeded


def history(workspace, tenant):
    for day in range(40):  # 40 days, a few runs each, two tenants and none
        completed = NOW - timedelta(days=day, hours=2)
        add_runs(workspace, [60 + day] * 3, completed=lambda i, c=completed: c - i * S)
        add_runs(workspace, [600], tenant=tenant, completed=lambda i, c=completed: c)


def test_building_twice_gives_the_same_rows(db, policy):
    workspace = make_workspace()
    history(workspace, make_tenant(workspace))
    roll_all(policy, NOW)
    first = rows(db)
    assert {r["tenant_key"] for r in first} == {0, ALL_TENANTS, first[-1]["tenant_key"]}
    for emptied in (False, True):  # every day built again, over its rows or from nothing
        if emptied:
            db.session.execute(sa.delete(DAYS))
        db.session.execute(sa.update(InsightRollupState).values(rolled_until=None))
        db.session.commit()
        roll_all(policy, NOW)
        assert rows(db) == first
    roll_up(policy, NOW)  # the current day again
    assert rows(db) == first
    assert succeeded(workspace, policy) == 31 * 3 + 31  # 30d from 00:00: 31 days of runs


def test_a_run_that_commits_after_its_day_was_rolled_is_counted_once(db, policy):
    workspace = make_workspace()
    add_runs(workspace, [30] * 5, completed=lambda i: NOW - timedelta(hours=3) - i * S)
    roll_all(policy, NOW)
    mark = rolled_until()
    assert mark == NOW - LAG
    # Completed before the mark, committed after the day was rolled: a minute behind...
    add_runs(workspace, [40], completed=lambda i: mark - timedelta(minutes=1))
    # ... and one from yesterday, far behind (the day count no longer matches).
    add_runs(workspace, [50], completed=lambda i: NOW - timedelta(days=1))
    later = NOW + timedelta(minutes=1)
    roll_up(policy, later)
    assert succeeded(workspace, policy, later) == 7
    roll_up(policy, later + S)
    roll_up(policy, later + 2 * S)
    assert succeeded(workspace, policy, later + 2 * S) == 7
    counted = db.session.scalar(
        sa.select(sa.func.sum(DAYS.c.succeeded)).where(DAYS.c.tenant_key == ALL_TENANTS)
    )
    assert counted == 7


def test_the_mark_splits_rolled_and_raw_runs_at_the_microsecond(db, policy):
    workspace = make_workspace()
    mark = NOW - LAG
    add_runs(workspace, [10], completed=lambda i: mark - timedelta(microseconds=1))
    add_runs(workspace, [20], completed=lambda i: mark)  # the page reads it raw
    add_runs(workspace, [30], completed=lambda i: NOW)
    roll_all(policy, NOW)
    assert rolled_until() == mark
    counted = db.session.scalar(
        sa.select(sa.func.sum(DAYS.c.succeeded)).where(DAYS.c.tenant_key == ALL_TENANTS)
    )
    assert counted == 1
    assert succeeded(workspace, policy) == 3


def test_rows_of_other_windows_are_not_read_and_are_rebuilt(db, policy):
    """A type whose running_stale changed: its false alarms are those of the new window,
    read raw until the upkeep rebuilds the days under it."""
    workspace = make_workspace()
    add_runs(workspace, [100, 200, 300, 400])
    roll_all(policy, NOW)
    changed = Policy(
        {**policy.types, KEY: replace(policy.types[KEY], running_expected=200, running_stale=250)}
    )
    window = Window(Scope(workspace.id, "owner", None), NOW)
    assert summarize(window, policy)[KEY].counts.false_alarms["running_stale"] == 0
    assert summarize(window, changed)[KEY].counts.false_alarms["running_stale"] == 2
    days = roll_up(changed, NOW + S)
    assert NOW.date() in days
    assert {r["alarms_running"] for r in rows(db) if r["tenant_key"] == ALL_TENANTS} == {2}
    assert summarize(window, changed)[KEY].counts.false_alarms["running_stale"] == 2


def test_the_upkeep_rolls_after_a_pass(app, db, clock, policy):
    workspace = make_workspace()
    add_runs(workspace, [10] * 4)
    app.config["RUNWARDEN_RECONCILER"] = "external"
    clock.set(NOW)
    ReconcilerService(app, role="test")._upkeep()
    assert rolled_until() == NOW - LAG
    assert sum(r["succeeded"] for r in rows(db) if r["tenant_key"] == ALL_TENANTS) == 4


def test_two_builders_at_once_write_each_row_once(pg_app, pg_db, clock):
    policy = pg_app.extensions["runwarden.policy"]
    workspace = make_workspace()
    history(workspace, make_tenant(workspace))
    start, failures = threading.Barrier(2), []

    def build():
        with pg_app.app_context():
            try:
                start.wait(30)
                roll_all(policy, NOW)
            except Exception as exc:  # reported below
                failures.append(exc)

    threads = [threading.Thread(target=build) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failures == []
    built = rows(pg_db)
    keys = [(r["workspace_id"], r["tenant_key"], r["type"], r["day"]) for r in built]
    assert len(keys) == len(set(keys))
    assert sum(r["succeeded"] for r in built if r["tenant_key"] == ALL_TENANTS) == 40 * 4


def test_a_step_waits_for_its_interval_and_begins_no_day_past_its_budget(db, policy):
    workspace = make_workspace()
    history(workspace, make_tenant(workspace))
    first = roll_up(policy, NOW, budget=0)  # one day, then the budget is spent
    day_end = datetime.combine(first[0], datetime.min.time()) + timedelta(days=1)
    assert len(first) == 1 and rolled_until() == day_end  # every run before it is in
    assert rolled_until() < NOW - LAG
    roll_all(policy, NOW)
    assert roll_up(policy, NOW + 119 * S, every=120) == []  # the mark is 119 s behind
    assert roll_up(policy, NOW + 120 * S, every=120) == [NOW.date()]
    assert rolled_until() == NOW + 120 * S - LAG


def test_runs_since_the_mark_are_added_to_their_day_as_a_rebuild_would_count_them(
    db, policy, monkeypatch
):
    """The upkeep adds the runs completed since the mark to their day's rows (from the
    mark, included, to the next mark, excluded, across midnight): the rows are those of
    every day rebuilt whole, and a page counts the same runs."""
    workspace = make_workspace()
    tenant = make_tenant(workspace)
    midnight = datetime.combine(NOW.date() + timedelta(days=1), datetime.min.time())
    first, later = midnight - timedelta(minutes=3), midnight + timedelta(minutes=7)
    mark, target = first - LAG, later - LAG  # 23:52 and 00:02

    def add(at, n=1):
        for i in range(n):
            add_runs(workspace, [10 + i], tenant=tenant if i else None, completed=lambda _: at)

    history(workspace, tenant)
    add(mark - S)
    roll_all(policy, first)
    assert rolled_until() == mark
    add(mark, 2)
    add(midnight - timedelta(microseconds=1))
    add(midnight)
    add(target - S)
    add(target)  # at the next mark: read raw by a page, not in the rollup
    rebuilt = []
    whole = rollup.roll_day
    monkeypatch.setattr(rollup, "roll_day", lambda day, *a: rebuilt.append(day) or whole(day, *a))
    assert roll_up(policy, later) == [mark.date(), midnight.date()]
    assert rebuilt == [midnight.date()]  # the mark's day was added to, not rebuilt
    monkeypatch.undo()
    assert rolled_until() == target
    added = rows(db)
    per_day = {r["day"]: r["succeeded"] for r in added if r["tenant_key"] == ALL_TENANTS}
    assert (per_day[mark.date()], per_day[midnight.date()]) == (3 + 1 + 1 + 2 + 1, 1 + 1)
    on_page = succeeded(workspace, policy, later)

    db.session.execute(sa.delete(DAYS))
    db.session.execute(sa.update(InsightRollupState).values(rolled_until=None))
    db.session.commit()
    roll_all(policy, later)
    assert rolled_until() == target
    assert rows(db) == added
    assert succeeded(workspace, policy, later) == on_page
