"""Every state change of a run: create, start, heartbeat, complete (and, from
``closing``, reconcile): what each may do and what its events say.

The writes are the RunStore's (``operations.store``): each change is a compare-and-set on
the status with a timeline event and a change-feed row in the same transaction, and
answers the row as written (RETURNING, with its tenant: the one read model, ``RunRead``),
so no run is read back. A report for a run that is already completed never reopens it: it
is kept as a ``late_report`` event and answered with LateReport.
"""

from app.extensions import db
from app.models.runs import ACTIVE_STATUSES
from app.operations.clock import isoformat
from app.operations.store import Report, run_store
from app.operations.timeline import late_reports_kept, regressions_kept


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
    """Insert a queued or running run with its ``created`` (and ``started``) events and
    return it as written (a RunRead); commit (unless ``commit`` is False: the caller
    commits it with more, see ``idempotency``)."""
    values = _first_state(status, now, created_at, started_at, processed)
    values.update(
        workspace_id=workspace_id,
        tenant_id=tenant_id,
        type=type,
        total=total,
        initiator=initiator,
        context=context,
    )
    events = _creation_events(values, actor, initiator)
    values["event_count"] = len(events)
    run = run_store().insert(values, events, now)
    if commit:
        db.session.commit()
    return run


def _first_state(status, now, created_at, started_at, processed):
    """A new run's status, outcome and times: created at ``created_at`` (or ``now``); a
    running one started at ``started_at`` (or when it was created), its progress from then."""
    if status not in ACTIVE_STATUSES:
        raise TransitionNotAllowed(f"a run is created queued or running, not {status}")
    created_at = created_at or now
    started_at = (started_at or created_at) if status == "running" else None
    return dict(
        status=status,
        outcome="pending",
        created_at=created_at,
        started_at=started_at,
        processed=processed,
        last_progress_at=started_at if processed else None,
    )


def _creation_events(values, actor, initiator):
    """A new run's ``created`` event, and its ``started`` event when it starts running."""
    status = values["status"]
    events = [("created", values["created_at"], actor, {"status": status, "initiator": initiator})]
    if status == "running":
        events.append(("started", values["started_at"], actor, None))
    return events


def _change(run, expected, values, event, *, kind, now, data):
    """The compare-and-set of ``run`` (anything with an ``id``) from the ``expected``
    statuses, with its one ``event``; commit and return the written row. When the run is
    no longer in one of them, the refusal is kept (see ``refused_report``) and raised."""
    written = run_store().compare_and_set(run.id, expected, values, [event], now)
    if written is None:
        _refuse(run, kind, event[2], now, data)
    db.session.commit()
    return written


def _refuse(run, kind, actor, now, data):
    """The change was refused: keep (or count) a late report if the run is completed,
    commit that, then raise."""
    db.session.rollback()
    error = refused_report(run.id, kind, actor, now, data)
    db.session.commit()
    raise error


def refused_report(run_id, kind, actor, now, data):
    """A report run ``run_id`` refused (it is not in a state to take it), in the current
    transaction: when the run is completed, the report is kept (or counted) as a
    ``late_report`` with its change-feed row and LateReport is returned; otherwise
    TransitionNotAllowed, nothing written. The caller commits and raises."""
    return refused_reports({run_id: data}, kind, actor, now)[run_id]


def refused_reports(reports, kind, actor, now):
    """``refused_report`` for many runs ({run id: what its report said}) at once: the
    late ones are written set-based (``RunStore.late_reports``); {run id: error}."""
    store = run_store()
    rows = store.late_reports(reports, kind=kind, now=now, actor=actor, kept=late_reports_kept())
    errors = {}
    for run_id in reports:
        row = rows.get(run_id)
        if row is None:
            current = store.current(run_id)
            errors[run_id] = TransitionNotAllowed(f"cannot {kind} a {current.status} run", current)
            continue
        errors[run_id] = LateReport(
            f"run {row.id} is already completed ({row.outcome}); the {kind} report "
            "was kept on its timeline",
            row,
        )
    return errors


def start_run(run, *, now, actor, at=None):
    """queued → running."""
    at = at or now
    values = {"status": "running", "started_at": at}
    event = ("started", at, actor, None)
    data = {"at": isoformat(at)}
    return _change(run, ("queued",), values, event, kind="start", now=now, data=data)


def heartbeat(run, *, now, actor, processed=None, total=None, at=None):
    """A sign of life from a running run, optionally with progress; commit.

    The database applies it to the run's current row (see ``store.rules``): ``processed``
    keeps its highest value, ``last_progress_at`` moves, never backwards, only when that
    grows, and a lower report is kept as a ``progress_regression`` event (the first
    ``TIMELINE_REGRESSIONS_KEPT`` of them; later ones are counted on the run).
    """
    report = Report(run.id, processed, total, at or now)
    written = run_store().heartbeat(run, report, now=now, actor=actor, kept=regressions_kept())
    if written is None:
        _refuse(run, "heartbeat", actor, now, report.data())
    db.session.commit()
    return written


def checked_heartbeat(run_id, *, workspace_id, now, actor, processed=None, total=None, at=None):
    """``heartbeat`` of run ``run_id`` of ``workspace_id`` in one statement that also makes
    the API's checks on the locked row (``RunStore.checked_heartbeat``); commit and return
    the written run, or None when nothing was written: the caller then reads the run,
    checks it and calls ``heartbeat``, which says why a report is refused."""
    report = Report(run_id, processed, total, at or now)
    written = run_store().checked_heartbeat(
        report, workspace_id=workspace_id, now=now, actor=actor, kept=regressions_kept()
    )
    if written is not None:
        db.session.commit()
    return written


def checked_heartbeats(reports, *, workspace_id, now, actor):
    """``checked_heartbeat`` of many ``reports`` (of distinct runs) set-based, in the
    current transaction (``heartbeat_batch`` of the others commits both): the ids of the
    runs written."""
    store = run_store()
    return store.checked_heartbeats(
        reports, workspace_id=workspace_id, now=now, actor=actor, kept=regressions_kept()
    )


def heartbeat_batch(reports, *, now, actor):
    """Apply ``reports`` (Reports of distinct runs) in one transaction, set-based, and
    commit once. Returns, in order, None for each report taken and the LifecycleError of
    each refused one (its run is completed, kept as a late report, or not started). Every
    run taken or kept gets one change-feed row: one live change."""
    written = run_store().heartbeats(reports, now=now, actor=actor, kept=regressions_kept())
    refused = {r.run_id: r.data() for r in reports if r.run_id not in written}
    errors = refused_reports(refused, "heartbeat", actor, now) if refused else {}
    db.session.commit()
    return [errors.get(r.run_id) for r in reports]


def complete_run(run, *, outcome, now, actor, message=None, processed=None, total=None):
    """queued/running → completed with ``outcome``."""
    values = {"status": "completed", "outcome": outcome, "completed_at": now}
    if message is not None:
        values["failure_message"] = message
    if total is not None:
        values["total"] = total
    if processed is not None:  # the UPDATE keeps the higher of the stored and this one
        values.update(processed=processed, last_progress_at=now)
    data = {"outcome": outcome, "message": message, "processed": processed, "total": total}
    data = {k: v for k, v in data.items() if v is not None}
    event = ("completed", now, actor, data)
    return _change(run, ACTIVE_STATUSES, values, event, kind="complete", now=now, data=data)
