"""The SQL forms of a run's write rules, shared by both stores.

Progress is a high-water mark kept by the database itself: every report's UPDATE computes
the new ``processed``, ``last_progress_at`` and counters from the row it locks, so
concurrent reports of one run end as some serial order of them would, and the event a
report adds (``progress``, ``progress_regression`` or ``heartbeat``) is decided from that
same row, never from a copy read earlier.
"""

from functools import lru_cache

import sqlalchemy as sa

from app.models import OperationRun, RunEvent, Tenant
from app.operations.durations import seconds_between

RUNS = OperationRun.__table__
EVENTS = RunEvent.__table__
TENANTS = Tenant.__table__
EVENT_COLUMNS = ("run_id", "kind", "at", "actor", "data")
RUNNING = sa.literal_column("'running'")


def _tenant_column(name):
    """The written run's tenant's ``name`` column (NULL for a workspace-level run): a
    primary-key look-up inside the write's own RETURNING, not a statement of its own.

    Written out: SQLAlchemy renders an INSERT's correlated subquery with a second
    ``operation_runs`` in its FROM, and SQLite's UPDATE drops the tables' names."""
    runs, tenants = RUNS.name, TENANTS.name
    look_up = f"(SELECT {tenants}.{name} FROM {tenants} WHERE {tenants}.id = {runs}.tenant_id)"
    return sa.literal_column(look_up, TENANTS.c[name].type).label(f"tenant_{name}")


# What every write returns: the read model's columns (``reads.model.RunRead``), in order.
WRITTEN = (*RUNS.c, *(_tenant_column(name) for name in ("uuid", "slug", "name")))


def param(name, column):
    """A bind parameter typed like the runs table's ``column``."""
    return sa.bindparam(name, type_=RUNS.c[column].type)


def later(column, at):
    """``at`` if it is later than ``column`` (or ``column`` is NULL), else ``column``."""
    return sa.case((sa.or_(column.is_(None), at > column), at), else_=column)


def progress_set(processed, at):
    """SET values of a progress report: ``processed`` only grows, and ``last_progress_at``
    moves (never backwards) only when it does. A NULL report changes neither."""
    grew = processed > sa.func.coalesce(RUNS.c.processed, -1)
    moved = sa.and_(grew, sa.or_(RUNS.c.last_progress_at.is_(None), at > RUNS.c.last_progress_at))
    return {
        "processed": sa.case((grew, processed), else_=RUNS.c.processed),
        "last_progress_at": sa.case((moved, at), else_=RUNS.c.last_progress_at),
    }


def _longer(column, gap, counts):
    """``gap`` when ``counts`` and it is longer than ``column``; ``column`` otherwise. A
    NULL maximum (a run older than these columns) stays NULL: its earlier gaps are unknown."""
    return sa.case((sa.and_(column.is_not(None), counts, gap > column), gap), else_=column)


def gap_set(old, heartbeat_at, progress_at, progress_moved):
    """SET values of the longest heartbeat and progress gaps, from the row before the
    report: a heartbeat (or the completion) at ``heartbeat_at`` closes the silence since
    the last heartbeat; progress that moved at ``progress_at`` closes the silence since the
    last step (or the start, as the ``no_progress`` rule counts it)."""
    heartbeat_gap = seconds_between(heartbeat_at, old.last_heartbeat_at)
    since = sa.func.coalesce(old.last_progress_at, old.started_at)
    progress_gap = seconds_between(progress_at, since)
    return {
        "heartbeat_gap_max": _longer(
            RUNS.c.heartbeat_gap_max, heartbeat_gap, old.last_heartbeat_at.is_not(None)
        ),
        "progress_gap_max": _longer(
            RUNS.c.progress_gap_max, progress_gap, sa.and_(since.is_not(None), progress_moved)
        ),
    }


def _completion_gaps(at):
    """A completion at ``at`` ends the last silences of a running run."""
    running = RUNS.c.status == RUNNING
    return gap_set(RUNS.c, sa.case((running, at)), sa.case((running, at)), running)


@lru_cache(maxsize=4)
def insert_statement(keys):
    """The INSERT ... RETURNING of a new run for these columns, built once."""
    values = {key: param(f"new_{key}", key) for key in keys}
    return sa.insert(RUNS).values(values).returning(*WRITTEN)


@lru_cache(maxsize=64)
def cas_statement(expected_statuses, keys, n_events):
    """The compare-and-set UPDATE for one set of columns adding ``n_events`` events.

    ``processed`` and ``last_progress_at``, when given, go through the high-water rule.
    """
    run_id = sa.bindparam("cas_run_id", type_=sa.Integer, required=True)
    values = {key: param(f"new_{key}", key) for key in keys}
    if "processed" in keys:
        values.update(progress_set(values["processed"], values["last_progress_at"]))
    if "completed_at" in keys:
        values.update(_completion_gaps(values["completed_at"]))
    if n_events:
        values["event_count"] = RUNS.c.event_count + n_events
    return (
        sa.update(RUNS)
        .where(RUNS.c.id == run_id, RUNS.c.status.in_(expected_statuses))
        .values(values)
        .returning(*WRITTEN)
    )


class ReportRules:
    """One heartbeat's decisions, taken from the run's row before it (``old``).

    ``report`` names the report's values as SQL expressions: ``processed``, ``total``,
    ``at``, ``now`` (bind parameters for one call, columns of the batch's relation for
    many), ``data`` and ``regression`` (its event data, JSON) and ``kept`` (how many
    regressions a timeline keeps). ``with_kept(document, value)`` is the store's JSON
    merge: the regression's data with what the run kept.
    """

    def __init__(self, old, report, with_kept):
        self.old = old
        self.at = report["at"]
        self.now = report["now"]
        self.processed = processed = report["processed"]
        self.total = report["total"]
        self.grew = processed > sa.func.coalesce(old.processed, -1)
        self.regressed = processed < old.processed
        # Kept in full up to the limit, then counted: once counting starts it goes on.
        self.keep_regression = sa.and_(
            self.regressed,
            old.progress_regressions_omitted == 0,
            old.progress_regressions < report["kept"],
        )
        self.emit = sa.or_(
            self.grew,
            self.keep_regression,
            old.last_heartbeat_at.is_(None),
            self.total.is_not(None),
        )
        self.kind = sa.case(
            (self.grew, "progress"),
            (self.keep_regression, "progress_regression"),
            else_="heartbeat",
        )
        self.data = sa.case(
            (self.keep_regression, with_kept(report["regression"], old.processed)),
            else_=report["data"],
        )

    def set_values(self):
        """SET of the heartbeat UPDATE, from the row's values before it."""
        counted = sa.and_(self.regressed, sa.not_(self.keep_regression))
        return {
            **self.gap_values(),
            **progress_set(self.processed, self.at),
            "last_heartbeat_at": later(RUNS.c.last_heartbeat_at, self.at),
            "total": sa.func.coalesce(self.total, RUNS.c.total),
            "progress_regressions": RUNS.c.progress_regressions
            + sa.case((self.regressed, 1), else_=0),
            "progress_regressions_omitted": RUNS.c.progress_regressions_omitted
            + sa.case((counted, 1), else_=0),
            "last_regression_at": sa.case(
                (counted, later(RUNS.c.last_regression_at, self.now)),
                else_=RUNS.c.last_regression_at,
            ),
            "event_count": RUNS.c.event_count + sa.case((self.emit, 1), else_=0),
        }

    def gap_values(self):
        """The longest gaps, as this report closes them (the same rules as ``progress_set``:
        only progress that grows, at a later time, is a step)."""
        old = self.old
        moved = sa.and_(
            self.grew, sa.or_(old.last_progress_at.is_(None), self.at > old.last_progress_at)
        )
        return gap_set(old, self.at, self.at, moved)


def single_report():
    """The bind parameters of one heartbeat, as ``ReportRules`` reads a report."""
    return {
        "processed": param("hb_processed", "processed"),
        "total": param("hb_total", "total"),
        "at": param("hb_at", "last_heartbeat_at"),
        "now": param("hb_now", "last_heartbeat_at"),
        "kept": sa.bindparam("hb_regressions_kept", type_=sa.Integer),
        "data": sa.bindparam("hb_data", type_=sa.JSON),
        "regression": sa.bindparam("hb_regression_data", type_=sa.JSON),
    }


def report_checks(old, report):
    """SQL of the API's checks of a report against the run's row before it (``old``): its
    time not before the run's start (``check_not_before``; the time is the report's, now
    when it gave none) and its progress within the total, the new one or the stored one
    (``check_progress``). A report these pass passes the API's checks; one they refuse is
    read and checked by the API, which says why."""
    processed = sa.func.coalesce(report["processed"], old.processed)
    total = sa.func.coalesce(report["total"], old.total)
    return (
        sa.or_(old.started_at.is_(None), report["at"] >= old.started_at),
        sa.or_(processed.is_(None), total.is_(None), processed <= total),
    )


def heartbeat_run_id():
    return sa.bindparam("hb_run_id", type_=sa.Integer, required=True)


def actor_param(name="hb_actor"):
    return sa.bindparam(name, type_=EVENTS.c.actor.type)


@lru_cache(maxsize=1)
def late_report_statement():
    """Count a late report on each completed run of ``late_run_ids``; RETURNING the rows.

    The report is kept as an event while ``late_reports_omitted`` stays 0 (the first
    ``limit`` of them), then only counted: whether this one was kept is read from the
    returned row alone.
    """
    limit = sa.bindparam("late_kept", type_=sa.Integer)
    at = param("late_at", "last_late_report_at")
    counted = sa.or_(RUNS.c.late_reports_omitted > 0, RUNS.c.late_reports >= limit)
    return (
        sa.update(RUNS)
        .where(
            RUNS.c.id.in_(sa.bindparam("late_run_ids", expanding=True, required=True)),
            RUNS.c.status == sa.literal_column("'completed'"),
        )
        .values(
            late_reports=RUNS.c.late_reports + 1,
            late_reports_omitted=RUNS.c.late_reports_omitted + sa.case((counted, 1), else_=0),
            last_late_report_at=later(RUNS.c.last_late_report_at, at),
            event_count=RUNS.c.event_count + sa.case((counted, 0), else_=1),
        )
        .returning(*WRITTEN)
    )
