"""The SQL of a run's state changes, built once per shape (see ``lifecycle`` for their use).

Progress is a high-water mark kept by the database itself: every report's UPDATE computes
the new ``processed``, ``last_progress_at`` and counters from the row it locks, so
concurrent reports of one run end as some serial order of them would, and the event a
report adds (``progress``, ``progress_regression`` or ``heartbeat``) is decided from that
same row, never from a copy read earlier.
"""

from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from app.models import OperationRun, RunChange, RunEvent
from app.operations.durations import seconds_between

NOTIFY_CHANNEL = "runwarden_runs"
RUNS = OperationRun.__table__
EVENT_COLUMNS = ("run_id", "kind", "at", "actor", "data")


def _param(name, column):
    return sa.bindparam(name, type_=RUNS.c[column].type)


def _later(column, at):
    """``at`` if it is later than ``column`` (or ``column`` is NULL), else ``column``."""
    return sa.case((sa.or_(column.is_(None), at > column), at), else_=column)


def _progress_set(processed, at):
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


def _gap_set(old, heartbeat_at, progress_at, progress_moved):
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
    running = RUNS.c.status == sa.literal_column("'running'")
    return _gap_set(RUNS.c, sa.case((running, at)), sa.case((running, at)), running)


@lru_cache(maxsize=4)
def insert_statement(keys):
    """The INSERT ... RETURNING of a new run for these columns, built once."""
    values = {key: _param(f"new_{key}", key) for key in keys}
    return sa.insert(RUNS).values(values).returning(*RUNS.c)


@lru_cache(maxsize=64)
def cas_statement(expected_statuses, keys, n_events):
    """The compare-and-set UPDATE for one set of columns adding ``n_events`` events.

    ``processed`` and ``last_progress_at``, when given, go through the high-water rule.
    """
    run_id = sa.bindparam("cas_run_id", type_=sa.Integer, required=True)
    values = {key: _param(f"new_{key}", key) for key in keys}
    if "processed" in keys:
        values.update(_progress_set(values["processed"], values["last_progress_at"]))
    if "completed_at" in keys:
        values.update(_completion_gaps(values["completed_at"]))
    if n_events:
        values["event_count"] = RUNS.c.event_count + n_events
    return (
        sa.update(RUNS)
        .where(RUNS.c.id == run_id, RUNS.c.status.in_(expected_statuses))
        .values(values)
        .returning(*RUNS.c)
    )


class _Report:
    """The parameters of one heartbeat and the decisions taken from the run's current row."""

    def __init__(self, old, dialect):
        self.old = old
        self.processed = _param("hb_processed", "processed")
        self.total = _param("hb_total", "total")
        self.at = _param("hb_at", "last_heartbeat_at")
        self.now = _param("hb_now", "last_heartbeat_at")
        limit = sa.bindparam("hb_regressions_kept", type_=sa.Integer)
        self.grew = self.processed > sa.func.coalesce(old.processed, -1)
        self.regressed = self.processed < old.processed
        # Kept in full up to the limit, then counted: once counting starts it goes on.
        self.keep_regression = sa.and_(
            self.regressed,
            old.progress_regressions_omitted == 0,
            old.progress_regressions < limit,
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
        regression = sa.bindparam("hb_regression_data", type_=sa.JSON)
        self.data = sa.case(
            (self.keep_regression, _json_with(regression, "kept", old.processed, dialect)),
            else_=sa.bindparam("hb_data", type_=sa.JSON),
        )

    def set_values(self):
        """SET of the heartbeat UPDATE, from the row's values before it."""
        counted = sa.and_(self.regressed, sa.not_(self.keep_regression))
        return {
            **self.gap_values(),
            **_progress_set(self.processed, self.at),
            "last_heartbeat_at": _later(RUNS.c.last_heartbeat_at, self.at),
            "total": sa.func.coalesce(self.total, RUNS.c.total),
            "progress_regressions": RUNS.c.progress_regressions
            + sa.case((self.regressed, 1), else_=0),
            "progress_regressions_omitted": RUNS.c.progress_regressions_omitted
            + sa.case((counted, 1), else_=0),
            "last_regression_at": sa.case(
                (counted, _later(RUNS.c.last_regression_at, self.now)),
                else_=RUNS.c.last_regression_at,
            ),
            "event_count": RUNS.c.event_count + sa.case((self.emit, 1), else_=0),
        }

    def gap_values(self):
        """The longest gaps, as this report closes them (the same rules as ``_progress_set``:
        only progress that grows, at a later time, is a step)."""
        old = self.old
        moved = sa.and_(
            self.grew, sa.or_(old.last_progress_at.is_(None), self.at > old.last_progress_at)
        )
        return _gap_set(old, self.at, self.at, moved)


def _json_with(document, key, value, dialect):
    """The JSON ``document`` with ``key`` set to ``value``, in SQL."""
    if dialect == "postgresql":
        merged = sa.cast(document, postgresql.JSONB).op("||")(
            sa.func.jsonb_build_object(key, value)
        )
        return sa.cast(merged, sa.JSON)
    return sa.func.json_set(document, f"$.{key}", value)


def _heartbeat_run_id():
    return sa.bindparam("hb_run_id", type_=sa.Integer, required=True)


@lru_cache(maxsize=1)
def heartbeat_statement_postgresql():
    """PostgreSQL: one statement for a heartbeat.

    The run is locked first (a FOR UPDATE subquery: after waiting for a concurrent
    report it sees that report's row), the UPDATE applies the report to it, and the
    event and the change-feed row are CTEs reading the UPDATE's RETURNING, which carries
    the event's kind and data decided from the locked row.
    """
    old = (
        sa.select(
            RUNS.c.id,
            RUNS.c.processed,
            RUNS.c.last_heartbeat_at,
            RUNS.c.progress_regressions,
            RUNS.c.progress_regressions_omitted,
            RUNS.c.last_progress_at,
            RUNS.c.started_at,
        )
        .where(RUNS.c.id == _heartbeat_run_id())
        .with_for_update()
        .subquery("old")
    )
    report = _Report(old.c, "postgresql")
    update = (
        sa.update(RUNS)
        .where(RUNS.c.id == old.c.id, RUNS.c.status == sa.literal_column("'running'"))
        .values(report.set_values())
        .returning(
            *RUNS.c,
            report.emit.label("ev_emit"),
            report.kind.label("ev_kind"),
            report.data.label("ev_data"),
        )
    )

    def event(run):
        rows = sa.select(
            run.c.id,
            run.c.ev_kind,
            report.at,
            sa.bindparam("hb_actor", type_=sa.String),
            run.c.ev_data,
        ).where(run.c.ev_emit)
        return sa.insert(RunEvent.__table__).from_select(EVENT_COLUMNS, rows)

    return write_with_trail(update, event)


@lru_cache(maxsize=1)
def heartbeat_statements_sqlite():
    """SQLite: (event INSERT ... SELECT, UPDATE ... RETURNING) of a heartbeat.

    The event's INSERT runs first: SQLite takes the database's write lock when a writing
    statement starts, so the row it reads is the one the UPDATE then changes.
    """
    report = _Report(RUNS.c, "sqlite")
    rows = sa.select(
        RUNS.c.id, report.kind, report.at, sa.bindparam("hb_actor", type_=sa.String), report.data
    ).where(
        RUNS.c.id == _heartbeat_run_id(),
        RUNS.c.status == sa.literal_column("'running'"),
        report.emit,
    )
    event = sa.insert(RunEvent.__table__).from_select(EVENT_COLUMNS, rows)
    update = (
        sa.update(RUNS)
        .where(RUNS.c.id == _heartbeat_run_id(), RUNS.c.status == sa.literal_column("'running'"))
        .values(report.set_values())
        .returning(*RUNS.c)
    )
    return event, update


@lru_cache(maxsize=1)
def late_report_statement():
    """Count a late report on a completed run; RETURNING the row.

    The report is kept as an event while ``late_reports_omitted`` stays 0 (the first
    ``limit`` of them), then only counted: whether this one was kept is read from the
    returned row alone.
    """
    limit = sa.bindparam("late_kept", type_=sa.Integer)
    at = _param("late_at", "last_late_report_at")
    counted = sa.or_(RUNS.c.late_reports_omitted > 0, RUNS.c.late_reports >= limit)
    return (
        sa.update(RUNS)
        .where(
            RUNS.c.id == sa.bindparam("late_run_id", type_=sa.Integer, required=True),
            RUNS.c.status == sa.literal_column("'completed'"),
        )
        .values(
            late_reports=RUNS.c.late_reports + 1,
            late_reports_omitted=RUNS.c.late_reports_omitted + sa.case((counted, 1), else_=0),
            last_late_report_at=_later(RUNS.c.last_late_report_at, at),
            event_count=RUNS.c.event_count + sa.case((counted, 0), else_=1),
        )
        .returning(*RUNS.c)
    )


@lru_cache(maxsize=64)
def events_write_statement(write, n_events):
    """PostgreSQL: ``write`` with ``n_events`` events given as parameters, plus the feed."""
    if not n_events:
        return write_with_trail(write, None)

    def events(run):
        # One INSERT in the given order: sibling CTEs run in no defined order, and the
        # timeline breaks ties of equal times by event id.
        rows = sa.union_all(*(_event_select(run, i) for i in range(n_events))).subquery()
        ordered = sa.select(*(rows.c[name] for name in EVENT_COLUMNS)).order_by(rows.c.n)
        return sa.insert(RunEvent.__table__).from_select(EVENT_COLUMNS, ordered)

    return write_with_trail(write, events)


def write_with_trail(write, events):
    """PostgreSQL: ``write`` (returning the run) with its events (``events(run_cte)``, an
    INSERT, or None) and its change-feed row as CTEs, selecting the written row and
    waking listeners on commit."""
    run = write.cte("run")
    trail = [] if events is None else [events(run).cte("events")]
    changed_at = sa.bindparam("changed_at", type_=RunChange.__table__.c.at.type)
    feed = sa.select(run.c.id, run.c.workspace_id, run.c.tenant_id, changed_at)
    columns = ("run_id", "workspace_id", "tenant_id", "at")
    trail.append(sa.insert(RunChange.__table__).from_select(columns, feed).cte("feed"))
    wake = sa.func.pg_notify(NOTIFY_CHANNEL, wake_payload(run.c.id, run.c.workspace_id))
    return sa.select(*run.c, wake.label("woken")).add_cte(*trail)


def _event_select(run, i):
    """The ``i``-th event of ``events_write_statement`` as a one-row SELECT from the run."""
    columns = RunEvent.__table__.c
    values = [
        sa.bindparam(f"ev{i}_{name}", type_=columns[name].type).label(name)
        for name in ("kind", "at", "actor", "data")
    ]
    return sa.select(run.c.id.label("run_id"), *values, sa.literal(i).label("n"))


def with_wake(feed):
    """PostgreSQL: ``feed`` (an INSERT into the change feed) plus its NOTIFY, one statement."""
    inserted = feed.returning(RunChange.run_id, RunChange.workspace_id).cte("inserted")
    last = (
        sa.select(inserted.c.workspace_id, sa.func.max(inserted.c.run_id).label("run_id"))
        .group_by(inserted.c.workspace_id)
        .subquery("last")
    )
    return sa.select(
        sa.func.pg_notify(NOTIFY_CHANNEL, wake_payload(last.c.run_id, last.c.workspace_id))
    )


def wake_payload(run_id, workspace_id):
    """The NOTIFY payload: the workspace and its last changed run, as JSON text."""
    return sa.cast(sa.func.json_build_object("run", run_id, "ws", workspace_id), sa.Text)


# The hot path (one API call, one or two rows) uses plain statements built once: cheaper
# than building a bound relation for so few rows.
EVENT_INSERT = sa.insert(RunEvent.__table__)
FEED_INSERT = sa.insert(RunChange.__table__)
FEED_AND_WAKE = with_wake(
    sa.insert(RunChange.__table__).values(
        {
            name: sa.bindparam(name, type_=RunChange.__table__.c[name].type)
            for name in ("run_id", "workspace_id", "tenant_id", "at")
        }
    )
)
