"""Every state change of a run: create, start, heartbeat, complete, reconcile.

Each change is a compare-and-set on the status, appends a timeline event and a change-feed
row in the same transaction. A report for a run that is already completed never reopens it:
it is kept as a ``late_report`` event and answered with LateReport.
"""

import json
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions import db
from app.models import OperationRun, RunChange, RunEvent
from app.models.runs import ACTIVE_STATUSES, RunRecord
from app.operations.bulk import insert_rows, relation
from app.operations.clock import isoformat
from app.operations.freshness import instant, reconcile_due_clause

NOTIFY_CHANNEL = "runwarden_runs"


class LifecycleError(Exception):
    """A change that cannot be made; ``code`` is machine-readable."""

    code = "conflict"

    def __init__(self, message, run=None):
        super().__init__(message)
        self.message = message
        self.run = run


class TransitionNotAllowed(LifecycleError):
    code = "transition_not_allowed"


class LateReport(TransitionNotAllowed):
    """The run was already completed; the report is kept on its timeline."""

    code = "run_already_completed"


def _event(run_id, kind, at, actor, data=None):
    _insert_events([(run_id, kind, at, actor, data or None)])


def _insert_events(rows):
    """Append timeline events, (run_id, kind, at, actor, data) each, in one statement."""
    db.session.execute(
        EVENT_INSERT, [dict(run_id=r, kind=k, at=t, actor=a, data=d) for r, k, t, a, d in rows]
    )


def _events(rows, at):
    """Append many timeline events, (run_id, kind, actor, data) each, all at ``at``."""
    if len(rows) < BULK_ROWS:
        _insert_events([(r, k, at, a, d) for r, k, a, d in rows])
        return
    db.session.execute(
        insert_rows(RunEvent.__table__, ("run_id", "kind", "actor", "data"), rows, at=at)
    )


def record_change(run, at):
    """Append to the change feed (and wake other processes on PostgreSQL)."""
    record_changes([run], at)


def create_run(
    *,
    workspace_id,
    tenant_id,
    type,
    now,
    actor,
    status="queued",
    initiator=None,
    total=None,
    processed=None,
    context=None,
    created_at=None,
    started_at=None,
):
    """Insert a queued or running run with its ``created`` (and ``started``) events; commit."""
    if status not in ACTIVE_STATUSES:
        raise TransitionNotAllowed(f"a run is created queued or running, not {status}")
    created_at = created_at or now
    if status == "running":
        started_at = started_at or created_at
    else:
        started_at = None
    values = dict(
        workspace_id=workspace_id,
        tenant_id=tenant_id,
        type=type,
        status=status,
        outcome="pending",
        created_at=created_at,
        started_at=started_at,
        total=total,
        processed=processed,
        last_progress_at=started_at if processed else None,
        initiator=initiator,
        context=context,
    )
    params = {f"new_{key}": value for key, value in values.items()}
    events = [("created", created_at, actor, {"status": status, "initiator": initiator})]
    if status == "running":
        events.append(("started", started_at, actor, None))
    row = _write_run(_insert_statement(tuple(values)), params, events, now)
    run = OperationRun(**{key: row._mapping[key] for key in RunRecord._fields})
    make_transient_to_detached(run)  # as if loaded: the row is what was written
    db.session.add(run)
    _commit()
    return run


def _cas(run, expected_statuses, values, events, at):
    """UPDATE the run only if its status is still one of ``expected_statuses``; with it,
    append ``events`` and the change-feed row (see ``_write_run``).

    The UPDATE returns the whole row and ``run`` takes its columns as committed state, so
    the answer shows exactly what was written without reading the run again (and what
    was loaded with the run, such as its tenant, stays loaded). False, and nothing
    written, if the status had changed.
    """
    statement = _cas_statement(tuple(expected_statuses), tuple(sorted(values)))
    params = {"cas_run_id": run.id, **{f"new_{key}": value for key, value in values.items()}}
    row = _write_run(statement, params, events, at)
    if row is None:
        return False
    for key in RunRecord._fields:
        set_committed_value(run, key, row._mapping[key])
    return True


def _write_run(write, params, events, at):
    """Execute ``write``, a run's INSERT or compare-and-set UPDATE returning its row, with
    the run's timeline ``events`` ((kind, at, actor, data) each) and its change-feed row
    at ``at``. Returns the row, or None when the UPDATE matched nothing (then nothing is
    written).

    PostgreSQL does it in one statement, the events and the feed row (and its NOTIFY) as
    data-modifying CTEs reading the written row: a worker's report is one round trip
    besides its reads. SQLite, embedded, runs the three statements.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        values = {**params, "changed_at": at}
        for i, (kind, when, actor, data) in enumerate(events):
            values.update({f"ev{i}_kind": kind, f"ev{i}_at": when, f"ev{i}_actor": actor})
            values[f"ev{i}_data"] = data or None
        return db.session.execute(_write_with_trail(write, len(events)), values).first()
    row = db.session.execute(write, params).first()
    if row is None:
        return None
    if events:
        _insert_events([(row.id, k, t, a, d or None) for k, t, a, d in events])
    record_change(row, at)
    return row


@lru_cache(maxsize=64)
def _write_with_trail(write, n_events):
    """PostgreSQL: ``write`` with ``n_events`` timeline events and the change-feed row as
    CTEs, selecting the written row (and waking listeners on commit); built once."""
    run = write.cte("run")
    trail = []
    if n_events:
        # One INSERT in the given order: sibling CTEs run in no defined order, and the
        # timeline is ordered by event id.
        events = sa.union_all(*(_event_select(run, i) for i in range(n_events))).subquery()
        columns = ("run_id", "kind", "at", "actor", "data")
        ordered = sa.select(*(events.c[name] for name in columns)).order_by(events.c.n)
        trail.append(sa.insert(RunEvent.__table__).from_select(columns, ordered).cte("events"))
    changed_at = sa.bindparam("changed_at", type_=RunChange.__table__.c.at.type)
    feed = sa.select(run.c.id, run.c.workspace_id, run.c.tenant_id, changed_at)
    columns = ("run_id", "workspace_id", "tenant_id", "at")
    trail.append(sa.insert(RunChange.__table__).from_select(columns, feed).cte("feed"))
    wake = sa.func.pg_notify(NOTIFY_CHANNEL, _wake_payload(run.c.id, run.c.workspace_id))
    return sa.select(*run.c, wake.label("woken")).add_cte(*trail)


def _event_select(run, i):
    """The ``i``-th event of ``_write_with_trail`` as a one-row SELECT from the written run."""
    columns = RunEvent.__table__.c
    values = [
        sa.bindparam(f"ev{i}_{name}", type_=columns[name].type).label(name)
        for name in ("kind", "at", "actor", "data")
    ]
    return sa.select(run.c.id.label("run_id"), *values, sa.literal(i).label("n"))


@lru_cache(maxsize=4)
def _insert_statement(keys):
    """The INSERT ... RETURNING of a new run for these columns, built once."""
    table = OperationRun.__table__
    values = {key: sa.bindparam(f"new_{key}", type_=table.c[key].type) for key in keys}
    return sa.insert(table).values(values).returning(*table.c)


@lru_cache(maxsize=64)
def _cas_statement(expected_statuses, keys):
    """The compare-and-set UPDATE for one set of columns, built once."""
    table = OperationRun.__table__
    run_id = sa.bindparam("cas_run_id", type_=sa.Integer, required=True)
    return (
        sa.update(table)
        .where(table.c.id == run_id, table.c.status.in_(expected_statuses))
        .values({key: sa.bindparam(f"new_{key}", type_=table.c[key].type) for key in keys})
        .returning(*table.c)
    )


def _commit():
    """Commit without expiring what this request loaded.

    Every run a lifecycle function returns was just refreshed from its own INSERT or
    UPDATE ... RETURNING, so its attributes are the committed row; expiring them would
    only cost a SELECT per answer (and one for its tenant).
    """
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


def _refuse(run, kind, actor, now, data):
    """The CAS failed: keep a late report if the run is completed, then raise."""
    db.session.rollback()
    current = db.session.get(OperationRun, run.id, populate_existing=True)
    if current.status == "completed":
        _event(current.id, "late_report", now, actor, {"report": kind, **(data or {})})
        record_change(current, now)
        db.session.commit()
        raise LateReport(
            f"run {current.id} is already completed ({current.outcome}); the {kind} report "
            "was kept on its timeline",
            current,
        )
    raise TransitionNotAllowed(f"cannot {kind} a {current.status} run", current)


def start_run(run, *, now, actor, at=None):
    """queued → running."""
    at = at or now
    values = {"status": "running", "started_at": at}
    if not _cas(run, ("queued",), values, [("started", at, actor, None)], now):
        _refuse(run, "start", actor, now, {"at": isoformat(at)})
    _commit()
    return run


def _progress_values(run, processed, total, at):
    values = {}
    if total is not None:
        values["total"] = total
    if processed is not None:
        values["processed"] = processed
        if run.processed is None or processed > run.processed:
            values["last_progress_at"] = at
    return values


def heartbeat(run, *, now, actor, processed=None, total=None, at=None):
    """A sign of life from a running run, optionally with progress."""
    at = at or now
    data = {"processed": processed, "total": total, "at": isoformat(at)}
    if run.status != "running":
        _refuse(run, "heartbeat", actor, now, data)
    values = _progress_values(run, processed, total, at)
    if run.last_heartbeat_at is None or at > run.last_heartbeat_at:
        values["last_heartbeat_at"] = at
    events = []
    if run.last_heartbeat_at is None or "last_progress_at" in values or "total" in values:
        kind = "progress" if "last_progress_at" in values else "heartbeat"
        events.append((kind, at, actor, {k: v for k, v in data.items() if v is not None}))
    if not _cas(run, ("running",), values or {"status": "running"}, events, now):
        _refuse(run, "heartbeat", actor, now, data)
    _commit()
    return run


def complete_run(run, *, outcome, now, actor, message=None, processed=None, total=None):
    """queued/running → completed with ``outcome``."""
    values = {"status": "completed", "outcome": outcome, "completed_at": now}
    if message is not None:
        values["failure_message"] = message
    values.update(_progress_values(run, processed, total, now))
    data = {"outcome": outcome, "message": message, "processed": processed, "total": total}
    data = {k: v for k, v in data.items() if v is not None}
    if not _cas(run, ACTIVE_STATUSES, values, [("completed", now, actor, data)], now):
        _refuse(run, "complete", actor, now, data)
    _commit()
    return run


def reconcile_run(run, *, policy, now, reason, message, pass_id):
    """Close ``run`` as failed if it is still due for reconciliation; does not commit.

    The UPDATE re-checks the shared SQL truth, so a run that reported in the meantime,
    or that another pass already closed, is left alone. Returns whether it was closed.
    """
    result = db.session.execute(
        sa.update(OperationRun)
        .where(OperationRun.id == run.id, reconcile_due_clause(policy))
        .values(
            status="completed",
            outcome="failed",
            completed_at=now,
            reconciled_at=now,
            reconciliation_reason=reason,
            reconciliation_message=message,
            failure_message=message,
        )
        .execution_options(synchronize_session=False),
        instant(policy, now),
    )
    if result.rowcount != 1:
        return False
    _event(run.id, "reconciled", now, "reconciler", _words(reason, message, pass_id))
    record_change(run, now)
    return True


def reconcile_runs(closures, *, policy, now, pass_id):
    """Close many runs at once, each only if it is still due; does not commit.

    ``closures`` is a list of (run, reason, message); a run is anything with ``id``,
    ``workspace_id`` and ``tenant_id``. One UPDATE closes the listed runs that the shared
    SQL truth, checked on the updated row itself, still says are due, writes each its own
    words, and returns the ids it closed; only those get a ``reconciled`` event and a
    change-feed row (one INSERT each). Returns the closed ids.
    """
    if not closures:
        return []
    by_id = {run.id: (run, reason, message) for run, reason, message in closures}
    runs = OperationRun.__table__
    where, reason, message = _listed_with_words(runs, by_id)
    closed = db.session.scalars(
        sa.update(runs)
        .where(*where, reconcile_due_clause(policy))
        .values(
            status="completed",
            outcome="failed",
            completed_at=now,
            reconciled_at=now,
            reconciliation_reason=reason,
            reconciliation_message=message,
            failure_message=message,
        )
        .returning(runs.c.id),
        instant(policy, now),
    ).all()
    if not closed:
        return []
    _events(
        [
            (i, "reconciled", "reconciler", _words(by_id[i][1], by_id[i][2], pass_id))
            for i in closed
        ],
        now,
    )
    record_changes([by_id[i][0] for i in closed], now)
    return closed


def _listed_with_words(runs, by_id):
    """(WHERE picking the listed runs, reason and message expressions) for the batch UPDATE.

    SQLite joins the words as a bound relation (see ``bulk``). PostgreSQL picks the runs
    by id and looks each run's words up in one JSON document: a join there can be planned
    as a rescan of the whole list per due run when statistics underestimate a fresh
    backlog (12 s for 10k runs), and the due check must stay on the updated row itself so
    that a concurrent pass re-checks the row it waited for.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        closing = relation(
            "closing",
            [
                ("id", sa.Integer),
                ("reason", runs.c.reconciliation_reason.type),
                ("message", sa.Text),
            ],
            [(i, reason, message) for i, (_run, reason, message) in by_id.items()],
        )
        return (runs.c.id == closing.c.id,), closing.c.reason, closing.c.message
    document = {str(i): [reason, message] for i, (_run, reason, message) in by_id.items()}
    words = (
        sa.select(
            sa.cast(sa.bindparam("words", json.dumps(document)), postgresql.JSONB).label("doc")
        )
        .cte("words")
        .prefix_with("MATERIALIZED")
    )

    def word(index):
        entry = words.c.doc.op("->")(sa.cast(runs.c.id, sa.Text))
        return sa.select(entry.op("->>")(index)).scalar_subquery()

    # The id range as well as the list: an index range scan whatever the statistics say
    # (with a fresh backlog the planner otherwise reads every active run per batch).
    listed = (runs.c.id.in_(list(by_id)), runs.c.id.between(min(by_id), max(by_id)))
    return listed, word(0), word(1)


def _words(reason, message, pass_id):
    return {"reason": reason, "message": message, "pass_id": pass_id}


def record_changes(runs, at):
    """Append one change-feed row per run; on PostgreSQL also wake other processes.

    On PostgreSQL the NOTIFY rides in the same statement as the INSERT (a data-modifying
    CTE): one wake-up per workspace, naming its last run, delivered on commit.
    """
    postgres = db.session.get_bind().dialect.name == "postgresql"
    if len(runs) == 1:
        run = runs[0]
        row = dict(run_id=run.id, workspace_id=run.workspace_id, tenant_id=run.tenant_id, at=at)
        db.session.execute(FEED_AND_WAKE if postgres else FEED_INSERT, row)
        return
    feed = insert_rows(
        RunChange.__table__,
        ("run_id", "workspace_id", "tenant_id"),
        [(r.id, r.workspace_id, r.tenant_id) for r in runs],
        at=at,
    )
    db.session.execute(_with_wake(feed) if postgres else feed)


def _with_wake(feed):
    """PostgreSQL: ``feed`` (an INSERT into the change feed) plus its NOTIFY, one statement."""
    inserted = feed.returning(RunChange.run_id, RunChange.workspace_id).cte("inserted")
    last = (
        sa.select(inserted.c.workspace_id, sa.func.max(inserted.c.run_id).label("run_id"))
        .group_by(inserted.c.workspace_id)
        .subquery("last")
    )
    return sa.select(
        sa.func.pg_notify(NOTIFY_CHANNEL, _wake_payload(last.c.run_id, last.c.workspace_id))
    )


def _wake_payload(run_id, workspace_id):
    """The NOTIFY payload: the workspace and its last changed run, as JSON text."""
    return sa.cast(sa.func.json_build_object("run", run_id, "ws", workspace_id), sa.Text)


# The hot path (one API call, one or two rows) uses plain statements built once: cheaper
# than building a bound relation for so few rows.
BULK_ROWS = 10
EVENT_INSERT = sa.insert(RunEvent.__table__)
FEED_INSERT = sa.insert(RunChange.__table__)
FEED_AND_WAKE = _with_wake(
    sa.insert(RunChange.__table__).values(
        {
            name: sa.bindparam(name, type_=RunChange.__table__.c[name].type)
            for name in ("run_id", "workspace_id", "tenant_id", "at")
        }
    )
)
