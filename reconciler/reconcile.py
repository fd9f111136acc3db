"""One reconciler pass: close every run whose reconcile time has come.

Candidates come from the shared SQL truth (``reconcile_due_clause``), in id order, one
batch at a time; on PostgreSQL the batch is locked ``FOR UPDATE SKIP LOCKED`` so passes
running at once share the work instead of queueing behind each other. Reason and message
are computed per run from ``freshness`` (an error there fails that run only). The batch is
closed by one compare-and-set UPDATE that re-checks the same truth (``reconcile_runs``);
should that fail, each run is closed on its own in its own SAVEPOINT (``reconcile_run``), so
one bad row cannot stop the pass. Every batch commits together with the pass's counters: a
pass that dies loses at most its current batch, which the next pass picks up.
"""

import logging
import time
from dataclasses import asdict, dataclass

import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.models import ReconcilerPass
from app.operations import get_policy
from app.operations.clock import now as clock_now
from app.operations.closing import reconcile_run, reconcile_runs
from app.operations.freshness import (
    freshness,
)
from app.operations.reads import SystemReads
from reconciler.audit import describe

logger = logging.getLogger("runwarden.reconciler")

MAX_ERRORS = 20
MAX_ERROR_TEXT = 300


class PassAborted(RuntimeError):
    """A pass stopped by an error outside the handling of a single run."""

    def __init__(self, pass_id, cause):
        super().__init__(f"reconciler pass {pass_id} aborted: {error_text(cause)}")
        self.pass_id = pass_id


@dataclass
class PassSummary:
    """What one pass did; the counters cover committed batches only."""

    pass_id: int
    scanned: int = 0
    reconciled: int = 0
    skipped: int = 0
    errors: int = 0
    duration_ms: int = 0
    outcome: str = "finished"

    def as_dict(self):
        """The JSON summary printed by ``flask reconcile --once``."""
        data = asdict(self)
        del data["outcome"]
        return data


def error_text(exc):
    """A short, single-line description of ``exc`` without SQL statements or parameters."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    text = f"{type(cause).__name__}: {lines[0] if lines else ''}".rstrip(": ")
    return text[:MAX_ERROR_TEXT]


def run_pass(*, holder, batch_size=None, lock_rows=None, keep_going=None):
    """Run one pass in the current app context, record it, and return its PassSummary.

    ``keep_going`` is called after each committed batch; when it returns False the pass
    stops there (shutdown, lost lease). ``lock_rows`` defaults to True on PostgreSQL.
    Any error outside a single run's handling is recorded on the pass and raised as
    PassAborted.
    """
    policy = get_policy()
    now = clock_now()
    batch_size = batch_size or current_app.config["RECONCILER_BATCH_SIZE"]
    if lock_rows is None:
        lock_rows = db.session.get_bind().dialect.name == "postgresql"
    started = time.perf_counter()
    if not _any_due(policy, now):
        return _record_empty_pass(holder, now, started)
    summary = PassSummary(_open_pass(holder, now))
    errors = []
    try:
        _run_batches(summary, errors, policy, now, (batch_size, lock_rows, keep_going))
    except Exception as exc:
        summary.outcome = "aborted"
        summary.errors += 1
        summary.duration_ms = _elapsed_ms(started)
        _record_abort(summary, errors, exc)
        raise PassAborted(summary.pass_id, exc) from exc
    summary.duration_ms = _elapsed_ms(started)
    note = [{"pass": "stopped", "error": "stopped between batches"}]
    _close_pass(summary, errors + (note if summary.outcome == "stopped" else []), clock_now())
    return summary


def _run_batches(summary, errors, policy, now, how):
    """Close the due runs batch by batch, in id order, until none is left or ``keep_going``
    says stop; ``how`` is (batch_size, lock_rows, keep_going)."""
    batch_size, lock_rows, keep_going = how
    last_id = 0
    while True:
        batch = _select_batch(policy, now, last_id, batch_size, lock_rows)
        if not batch:
            return
        last_id = batch[-1].id
        _handle_batch(batch, summary, errors, policy, now)
        if len(batch) < batch_size:
            return
        if keep_going is not None and not keep_going():
            summary.outcome = "stopped"
            return


def _any_due(policy, now):
    """Whether any run is due at all (nothing locked)."""
    return SystemReads(policy, now).any_due()


def _record_empty_pass(holder, now, started):
    """A pass with nothing to close is recorded whole, in one commit."""
    duration_ms = _elapsed_ms(started)
    return PassSummary(_open_pass(holder, now, finished_at=clock_now()), duration_ms=duration_ms)


def _elapsed_ms(started):
    return round((time.perf_counter() - started) * 1000)


def _open_pass(holder, now, finished_at=None):
    """Record the pass as started, committed at once so an aborted pass stays visible (or,
    with ``finished_at``, as a whole pass that found nothing); returns its id."""
    pass_id = db.session.scalar(
        sa.insert(ReconcilerPass)
        .values(
            started_at=now,
            finished_at=finished_at,
            holder=holder,
            scanned=0,
            reconciled=0,
            skipped=0,
            error_count=0,
        )
        .returning(ReconcilerPass.id)
    )
    db.session.commit()
    return pass_id


def _close_pass(summary, errors, finished_at):
    """Final counters (already committed per batch) plus the end and any closing note."""
    db.session.execute(
        sa.update(ReconcilerPass)
        .where(ReconcilerPass.id == summary.pass_id)
        .values(
            finished_at=finished_at,
            scanned=summary.scanned,
            reconciled=summary.reconciled,
            skipped=summary.skipped,
            error_count=summary.errors,
            errors=errors or None,
        )
    )
    db.session.commit()


def _record_abort(summary, errors, exc):
    """Note the abort on the pass row (best effort: the database may be what failed)."""
    db.session.rollback()
    try:
        _close_pass(summary, errors + [{"pass": "aborted", "error": error_text(exc)}], None)
    except Exception:
        db.session.rollback()
        logger.exception("could not record the abort of reconciler pass %s", summary.pass_id)


def _select_batch(policy, now, last_id, batch_size, lock_rows):
    """The next due runs after ``last_id`` as plain rows (no ORM objects to build)."""
    return SystemReads(policy, now).due_batch(last_id, batch_size, lock_rows)


def _handle_batch(batch, summary, errors, policy, now):
    """Close the due runs of ``batch``; commit them together with the pass's counters."""
    # Write first: pysqlite opens a transaction only before DML, and a SAVEPOINT outside
    # a transaction would commit on its own when released.
    db.session.execute(
        sa.update(ReconcilerPass)
        .where(ReconcilerPass.id == summary.pass_id)
        .values(scanned=ReconcilerPass.scanned + len(batch))
    )
    closures, new_errors = [], []
    for run in batch:
        try:
            closure = _closure(run, policy, now, summary.pass_id)
        except Exception as exc:
            new_errors.append({"run_id": run.id, "error": error_text(exc)})
            continue
        if closure is not None:
            closures.append(closure)
    closed, failed = _close(closures, policy, now, summary.pass_id)
    new_errors += failed
    skipped = len(batch) - closed - len(new_errors)
    kept = (errors + new_errors)[:MAX_ERRORS]
    db.session.execute(
        sa.update(ReconcilerPass)
        .where(ReconcilerPass.id == summary.pass_id)
        .values(
            reconciled=summary.reconciled + closed,
            skipped=summary.skipped + skipped,
            error_count=summary.errors + len(new_errors),
            errors=kept or None,
        )
    )
    # Committed runs are expired and only weakly referenced by the session: memory stays
    # bounded by one batch.
    db.session.commit()
    summary.scanned += len(batch)
    summary.reconciled += closed
    summary.skipped += skipped
    summary.errors += len(new_errors)
    errors[:] = kept


def _closure(run, policy, now, pass_id):
    """(run, reason, message) if the Python truth agrees ``run`` is due, else None."""
    state = freshness(run, policy, now)
    if not state.reconcile_due(now):
        return None
    reason, message = describe(run, state, now, pass_id)
    return run, reason, message


def _close(closures, policy, now, pass_id):
    """Close all at once; if that fails, one run per SAVEPOINT so a bad row fails alone.

    Both paths are compare-and-sets on the shared SQL truth. Returns (closed, errors).
    """
    try:
        with db.session.begin_nested():
            closed = reconcile_runs(closures, policy=policy, now=now, pass_id=pass_id)
        return len(closed), []
    except Exception as exc:
        logger.warning("batch close failed (%s); closing run by run", error_text(exc))
    closed, errors = 0, []
    for run, reason, message in closures:
        try:
            with db.session.begin_nested():
                closed += reconcile_run(
                    run, policy=policy, now=now, reason=reason, message=message, pass_id=pass_id
                )
        except Exception as exc:
            errors.append({"run_id": run.id, "error": error_text(exc)})
    return closed, errors
