"""The insights rollup: kept by the reconciler's upkeep, read by the insights.

``rolled_until`` is the high-water mark: every run completed before it is in the rollup.
``roll_up`` moves it to ``now - LAG`` (a run's completion may commit up to LAG after its
``completed_at``): the runs completed since the mark are added to the rows of their day,
and a day is rebuilt whole from the runs (its rows deleted and written again, so no run
is counted twice) when it was never built, when its rows were written under other
windows than the policy's (a changed type: its false alarms are recounted), or when its
count of runs no longer matches the runs table in the VERIFY_DAYS before the mark (a
completion committed later than LAG, a run removed). Adding to the current day instead
of rebuilding it keeps the upkeep's pause short however many runs a day completes.

``gather`` answers a Window: rollup days from the window's first day up to the mark,
plus the runs completed since the mark read raw (the same aggregation); when the rollup
does not cover the window, or holds rows of other windows, everything is read raw.
"""

import time as time_module
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models.insight_rollup import (
    ALL_TENANTS,
    COUNT_COLUMNS,
    NO_TENANT,
    InsightDay,
    InsightRollupState,
)
from app.operations.insight_cells import (
    Cell,
    as_date,
    cell_of_row,
    cells_from,
    fingerprint,
    row_of,
)
from app.operations.plan_hints import no_index_range
from app.operations.reads import RunReads, SystemReads

LAG = timedelta(minutes=5)
DAYS_PER_CALL = 32  # a first build of a long history is spread over several calls
VERIFY_DAYS = 2  # days before the mark whose counts each call checks against the runs
DAYS = InsightDay.__table__
STATE_ID = 1


def day_start(at):
    return datetime.combine(at.date(), time())


def rolled_until():
    """The high-water mark (None: nothing rolled yet)."""
    state = db.session.get(InsightRollupState, STATE_ID)
    return None if state is None else state.rolled_until


def _tenant_cells(cells):
    """{(workspace, tenant key, type, day): Cell} per tenant key and the workspace's
    ALL_TENANTS sums, of ``cells``."""
    keyed = {}
    for (workspace_id, tenant_id, name, day), cell in cells.items():
        tenant_key = NO_TENANT if tenant_id is None else tenant_id
        for key in ((workspace_id, tenant_key, name, day), (workspace_id, ALL_TENANTS, name, day)):
            keyed.setdefault(key, Cell()).merge(cell)
    return keyed


def _rows(keyed, policy):
    return [
        {
            "workspace_id": w,
            "tenant_key": t,
            "type": name,
            "day": day,
            "policy": fingerprint(policy.for_type(name)),
            **row_of(cell),
        }
        for (w, t, name, day), cell in keyed.items()
    ]


def roll_day(day, until, policy, now):
    """Write the rows of UTC ``day`` from the runs completed in it before ``until``."""
    start = datetime.combine(day, time())
    end = min(start + timedelta(days=1), until)
    keyed = _tenant_cells(cells_from(SystemReads(policy, now).insight_rows(start, end)))
    db.session.execute(sa.delete(DAYS).where(DAYS.c.day == day))
    if keyed:
        db.session.execute(sa.insert(DAYS), _rows(keyed, policy))


def add_to_day(since, until, policy, now):
    """Add the runs completed from ``since`` to ``until`` (one UTC day's part) to the
    rows of that day, which hold the runs completed in it before ``since``."""
    keyed = _tenant_cells(cells_from(SystemReads(policy, now).insight_rows(since, until)))
    if not keyed:
        return
    day = since.date()
    held = sa.select(DAYS).where(DAYS.c.day == day)
    for row in db.session.execute(held).mappings():
        key = (row["workspace_id"], row["tenant_key"], row["type"], day)
        if key in keyed:
            keyed[key] = cell_of_row(row).merge(keyed[key])
    columns = sa.tuple_(DAYS.c.workspace_id, DAYS.c.tenant_key, DAYS.c.type)
    replaced = columns.in_(sorted((w, t, name) for w, t, name, _ in keyed))
    db.session.execute(sa.delete(DAYS).where(DAYS.c.day == day, replaced))
    db.session.execute(sa.insert(DAYS), _rows(keyed, policy))


def _outdated_days(policy):
    """Days holding a row written under other windows than its type's in ``policy``."""
    pairs = db.session.execute(sa.select(DAYS.c.type, DAYS.c.policy).distinct()).all()
    stale = [(t, p) for t, p in pairs if p != fingerprint(policy.for_type(t))]
    if not stale:
        return []
    clause = sa.or_(*(sa.and_(DAYS.c.type == t, DAYS.c.policy == p) for t, p in stale))
    return sorted(db.session.scalars(sa.select(DAYS.c.day).where(clause).distinct()))


def _miscounted_days(policy, now, mark):
    """Days of the VERIFY_DAYS before ``mark`` whose rows count other runs than the runs
    table holds (a completion committed later than LAG, a run removed): rebuilt."""
    since = day_start(mark) - timedelta(days=VERIFY_DAYS)
    held = SystemReads(policy, now).completed_per_day(since, mark)
    held = {as_date(day): n for day, n in held.items()}
    outcomes = sum(DAYS.c[name] for name in COUNT_COLUMNS[:4])
    query = (
        sa.select(DAYS.c.day, sa.func.sum(outcomes))
        .where(DAYS.c.tenant_key == ALL_TENANTS, DAYS.c.day >= since.date())
        .group_by(DAYS.c.day)
    )
    rolled = {day: int(n) for day, n in db.session.execute(query)}
    return [day for day in set(held) | set(rolled) if held.get(day, 0) != rolled.get(day, 0)]


def _locked_state():
    """The state row, locked until the transaction ends (PostgreSQL: a second builder
    waits, then finds the days done); created when missing."""
    query = sa.select(InsightRollupState).where(InsightRollupState.id == STATE_ID)
    state = db.session.scalar(query.with_for_update())
    if state is None:
        try:
            with db.session.begin_nested():
                db.session.add(InsightRollupState(id=STATE_ID, rolled_until=None))
        except IntegrityError:
            pass  # another builder created it first
        state = db.session.scalar(query.with_for_update())
    return state


def _due_days(policy, now, mark, target):
    """(day, whether it is rebuilt whole) of the days due, oldest first: days written
    under other windows or miscounted, and every day from the mark's to the target's; the
    mark's day only gets the runs since the mark when its rows hold the runs before it."""
    whole = {d for d in _outdated_days(policy) if datetime.combine(d, time()) < mark}
    whole.update(_miscounted_days(policy, now, mark))
    days = set(whole)
    day = mark.date()
    while day <= target.date() and mark < target:
        days.add(day)
        day += timedelta(days=1)
    if mark > day_start(mark):
        days = {d: d in whole or d != mark.date() for d in days}
    else:
        days = dict.fromkeys(days, True)
    return sorted(days.items())[:DAYS_PER_CALL]


def roll_up(policy, now, *, every=0, budget=None):
    """One step of upkeep, in one transaction: the days due (see the module), at most
    DAYS_PER_CALL, oldest first, and none when the mark is less than ``every`` seconds
    behind ``now - LAG``; after ``budget`` seconds no further day is begun. Returns the
    days rolled."""
    target = now - LAG
    state = _locked_state()
    mark = state.rolled_until
    if mark is not None and (target - mark).total_seconds() < every:
        db.session.commit()
        return []
    if mark is None:
        first = SystemReads(policy, now).first_completed_at()
        mark = day_start(first) if first is not None else target
    done, started = [], time_module.monotonic()
    for day, whole in _due_days(policy, now, mark, target):
        if done and budget is not None and time_module.monotonic() - started > budget:
            break
        reached = min(datetime.combine(day, time()) + timedelta(days=1), target)
        if whole:
            roll_day(day, target, policy, now)
        else:
            add_to_day(mark, reached, policy, now)
        mark = max(mark, reached)  # days come in order: every earlier one is rolled
        done.append(day)
    state.rolled_until = mark
    db.session.commit()
    return done


def _tenant_keys(window):
    """The rollup rows that sum the runs ``window`` may see."""
    if window.tenant_id is not None:
        return [window.tenant_id]  # the page checked the viewer may see that tenant
    granted = window.scope.tenant_ids
    if granted is None:
        return [ALL_TENANTS]
    return [NO_TENANT, *sorted(granted)]


def _stored(window, policy, mark):
    """{(type, day): Cell} of the rollup rows of ``window`` up to ``mark``; None when one
    was written under other windows than the policy's. On SQLite the days are checked in
    the primary key's entries of the tenant keys: by the index of days it read every
    tenant's rows of the window (at 1M runs about 25 ms instead of 1)."""
    day = no_index_range(DAYS.c.day)
    query = sa.select(DAYS).where(
        DAYS.c.workspace_id == window.scope.workspace_id,
        DAYS.c.tenant_key.in_(_tenant_keys(window)),
        day >= window.since.date(),
        day <= mark.date(),
    )
    if window.type is not None:
        query = query.where(DAYS.c.type == window.type)
    found, prints = {}, {}
    for row in db.session.execute(query).mappings():
        name = row["type"]
        if name not in prints:
            prints[name] = fingerprint(policy.for_type(name))
        if row["policy"] != prints[name]:
            return None
        key, cell = (name, row["day"]), cell_of_row(row)
        if key in found:
            found[key].merge(cell)
        else:
            found[key] = cell
    return found


def _raw(window, policy, since):
    """{(type, day): Cell} of the window's runs completed from ``since`` to its end."""
    reads = RunReads(window.scope, policy, window.now)
    rows = reads.insight_rows(since, window.now, tenant_id=window.tenant_id, type_name=window.type)
    found = {}
    for (_, _, name, day), cell in cells_from(rows).items():
        found.setdefault((name, day), Cell()).merge(cell)
    return found


def gather(window, policy):
    """{(type, UTC day): Cell} of the runs ``window`` counts, from the rollup where it
    holds them (see the module)."""
    mark = rolled_until()
    if mark is None or mark <= window.since or mark > window.now:
        return _raw(window, policy, window.since)
    found = _stored(window, policy, mark)
    if found is None:
        return _raw(window, policy, window.since)
    for key, cell in _raw(window, policy, mark).items():
        found.setdefault(key, Cell()).merge(cell)
    return found
