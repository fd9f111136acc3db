"""Every state change of a run: create, start, heartbeat, complete (and, from
``closing``, reconcile).

Each change is a compare-and-set on the status, appends a timeline event and a change-feed
row in the same transaction. A report for a run that is already completed never reopens it:
it is kept as a ``late_report`` event and answered with LateReport.
"""

from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions import db
from app.models import OperationRun
from app.models.runs import ACTIVE_STATUSES, RunRecord
from app.operations.clock import isoformat
from app.operations.closing import reconcile_run, reconcile_runs
from app.operations.statements import (
    NOTIFY_CHANNEL,
    cas_statement,
    events_write_statement,
    heartbeat_statement_postgresql,
    heartbeat_statements_sqlite,
    insert_statement,
    late_report_statement,
)
from app.operations.timeline import late_reports_kept, regressions_kept
from app.operations.trail import (
    BULK_ROWS,
    event,
    insert_events,
    is_postgres,
    record_change,
    record_changes,
)

# Imported from here by the reconciler, the live relay and tests.
__all__ = [
    "BULK_ROWS",
    "NOTIFY_CHANNEL",
    "reconcile_run",
    "reconcile_runs",
    "record_change",
    "record_changes",
]


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
    commit=True,
):
    """Insert a queued or running run with its ``created`` (and ``started``) events; commit
    (unless ``commit`` is False: the caller commits it with more, see ``idempotency``)."""
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
    events = [("created", created_at, actor, {"status": status, "initiator": initiator})]
    if status == "running":
        events.append(("started", started_at, actor, None))
    values["event_count"] = len(events)
    params = {f"new_{key}": value for key, value in values.items()}
    row = _write_run(insert_statement(tuple(values)), params, events, now)
    run = OperationRun(**{key: row._mapping[key] for key in RunRecord._fields})
    make_transient_to_detached(run)  # as if loaded: the row is what was written
    db.session.add(run)
    if commit:
        commit_kept()
    return run


def _cas(run, expected_statuses, values, events, at):
    """UPDATE the run only if its status is still one of ``expected_statuses``; with it,
    append ``events`` and the change-feed row (see ``_write_run``).

    The UPDATE returns the whole row and ``run`` takes its columns as committed state, so
    the answer shows exactly what was written without reading the run again (and what
    was loaded with the run, such as its tenant, stays loaded). False, and nothing
    written, if the status had changed.
    """
    statement = cas_statement(tuple(expected_statuses), tuple(sorted(values)), len(events))
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
    if is_postgres():
        values = {**params, "changed_at": at}
        for i, (kind, when, actor, data) in enumerate(events):
            values.update({f"ev{i}_kind": kind, f"ev{i}_at": when, f"ev{i}_actor": actor})
            values[f"ev{i}_data"] = data or None
        return db.session.execute(events_write_statement(write, len(events)), values).first()
    row = db.session.execute(write, params).first()
    if row is None:
        return None
    if events:
        insert_events([(row.id, k, t, a, d or None) for k, t, a, d in events])
    record_change(row, at)
    return row


def commit_kept():
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
    """The CAS failed: keep (or count) a late report if the run is completed, then raise."""
    db.session.rollback()
    error = refused_report(run, kind, actor, now, data)
    db.session.commit()
    raise error


def refused_report(run, kind, actor, now, data):
    """A report ``run`` refused (it is not in a state to take it), in the current
    transaction: when the run is completed, the report is kept (or counted) as a
    ``late_report`` with its change-feed row and LateReport is returned; otherwise
    TransitionNotAllowed, nothing written. The caller commits and raises."""
    params = {"late_run_id": run.id, "late_at": now, "late_kept": late_reports_kept()}
    row = db.session.execute(late_report_statement(), params).first()
    if row is None:
        current = db.session.get(OperationRun, run.id, populate_existing=True)
        return TransitionNotAllowed(f"cannot {kind} a {current.status} run", current)
    current = db.session.get(OperationRun, run.id)
    for key in RunRecord._fields:
        set_committed_value(current, key, row._mapping[key])
    if row.late_reports_omitted == 0:
        event(current.id, "late_report", now, actor, {"report": kind, **(data or {})})
    record_change(current, now)
    return LateReport(
        f"run {current.id} is already completed ({current.outcome}); the {kind} report "
        "was kept on its timeline",
        current,
    )


def start_run(run, *, now, actor, at=None):
    """queued → running."""
    at = at or now
    values = {"status": "running", "started_at": at}
    if not _cas(run, ("queued",), values, [("started", at, actor, None)], now):
        _refuse(run, "start", actor, now, {"at": isoformat(at)})
    commit_kept()
    return run


def _progress_values(processed, total, at):
    values = {}
    if total is not None:
        values["total"] = total
    if processed is not None:  # the UPDATE keeps the higher of the stored and this one
        values.update(processed=processed, last_progress_at=at)
    return values


def heartbeat(run, *, now, actor, processed=None, total=None, at=None):
    """A sign of life from a running run, optionally with progress; commit.

    The database applies it to the run's current row (see ``statements``): ``processed``
    keeps its highest value, ``last_progress_at`` moves, never backwards, only when that
    grows, and a lower report is kept as a ``progress_regression`` event (the first
    ``TIMELINE_REGRESSIONS_KEPT`` of them; later ones are counted on the run).
    """
    if not apply_heartbeat(run, now=now, actor=actor, processed=processed, total=total, at=at):
        _refuse(run, "heartbeat", actor, now, heartbeat_data(processed, total, at or now))
    commit_kept()
    return run


def heartbeat_data(processed, total, at):
    """What a heartbeat reported, as its timeline events keep it."""
    return {"processed": processed, "total": total, "at": isoformat(at)}


def apply_heartbeat(run, *, now, actor, processed=None, total=None, at=None):
    """Write the heartbeat in the current transaction, without committing (``heartbeat``,
    batches): True, or False when the run is not running (then nothing is written)."""
    at = at or now
    data = heartbeat_data(processed, total, at)
    if run.status != "running":
        return False
    regression = {"reported": processed, "total": total, "at": data["at"]}
    params = {
        "hb_run_id": run.id,
        "hb_processed": processed,
        "hb_total": total,
        "hb_at": at,
        "hb_now": now,
        "hb_actor": actor,
        "hb_data": {k: v for k, v in data.items() if v is not None},
        "hb_regression_data": {k: v for k, v in regression.items() if v is not None},
        "hb_regressions_kept": regressions_kept(),
    }
    row = _heartbeat_write(run, params, now)
    if row is None:
        return False
    for key in RunRecord._fields:
        set_committed_value(run, key, row._mapping[key])
    return True


def _heartbeat_write(run, params, now):
    """The heartbeat's write; its row, or None when the run is no longer running."""
    if is_postgres():
        statement = heartbeat_statement_postgresql()
        return db.session.execute(statement, {**params, "changed_at": now}).first()
    event, update = heartbeat_statements_sqlite()
    # Only a report with progress or a total, or a run's first heartbeat, adds an event
    # (the stored first heartbeat never goes back to NULL).
    if any(params[k] is not None for k in ("hb_processed", "hb_total")) or (
        run.last_heartbeat_at is None
    ):
        db.session.execute(event, params)
    row = db.session.execute(update, params).first()
    if row is not None:
        record_change(row, now)
    return row


def complete_run(run, *, outcome, now, actor, message=None, processed=None, total=None):
    """queued/running → completed with ``outcome``."""
    values = {"status": "completed", "outcome": outcome, "completed_at": now}
    if message is not None:
        values["failure_message"] = message
    values.update(_progress_values(processed, total, now))
    data = {"outcome": outcome, "message": message, "processed": processed, "total": total}
    data = {k: v for k, v in data.items() if v is not None}
    if not _cas(run, ACTIVE_STATUSES, values, [("completed", now, actor, data)], now):
        _refuse(run, "complete", actor, now, data)
    commit_kept()
    return run
