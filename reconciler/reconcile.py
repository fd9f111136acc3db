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
from functools import partial

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
from reconciler.workers import BatchCounts, SharedPass, in_parallel

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


def run_pass(*, holder, batch_size=None, lock_rows=None, keep_going=None, workers=None):
    """Run one pass in the current app context, record it, and return its PassSummary.

    ``keep_going`` is called after each committed batch; when it returns False the pass
    stops there (shutdown, lost lease). ``lock_rows`` defaults to True on PostgreSQL.
    With locked rows the batches are shared by ``workers`` connections (default
    ``RECONCILER_WORKERS``) as passes running at once share them, so a backlog is closed
    on as many server processes; without, one batch follows the other.
    Any error outside a single run's handling is recorded on the pass and raised as
    PassAborted.
    """
    policy = get_policy()
    now = clock_now()
    batch_size = batch_size or current_app.config["RECONCILER_BATCH_SIZE"]
    if lock_rows is None:
        lock_rows = db.session.get_bind().dialect.name == "postgresql"
    workers = (workers or current_app.config["RECONCILER_WORKERS"]) if lock_rows else 1
    started = time.perf_counter()
    if not _any_due(policy, now):
        return _record_empty_pass(holder, now, started)
    shared = SharedPass(PassSummary(_open_pass(holder, now)), keep_going)
    try:
        how = (batch_size, lock_rows, workers > 1)
        in_parallel(workers, partial(_run_batches, shared, policy, now, how), shared.stop)
    except Exception as exc:
        summary = shared.summary
        summary.outcome = "aborted"
        summary.errors += 1
        summary.duration_ms = _elapsed_ms(started)
        _record_abort(summary, shared.errors, exc)
        raise PassAborted(summary.pass_id, exc) from exc
    summary = shared.summary
    summary.duration_ms = _elapsed_ms(started)
    note = [{"pass": "stopped", "error": "stopped between batches"}]
    stopped = summary.outcome == "stopped"
    _close_pass(summary, shared.errors + (note if stopped else []), clock_now())
    return summary


def _run_batches(shared, policy, now, how):
    """Close the due runs batch by batch, in id order, until none is left or the pass
    stops (``keep_going``, or another worker's error); ``how`` is (batch_size, lock_rows,
    parallel)."""
    batch_size, lock_rows, parallel = how
    while not shared.stopped:
        batch = shared.take(lambda after: _select_batch(policy, now, after, batch_size, lock_rows))
        if not batch:
            return
        _handle_batch(batch, shared, policy, now, parallel)
        if len(batch) < batch_size or not shared.carry_on():
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


def _handle_batch(batch, shared, policy, now, parallel):
    """Close the due runs of ``batch``; commit them together with the pass's counters.

    One worker writes its counters first: pysqlite opens a transaction only before DML,
    and a SAVEPOINT outside a transaction would commit on its own when released. Workers
    in parallel write them last, as the pass row stays locked until the commit that
    follows: written first, it would make the workers' batches wait for each other."""
    pass_id = shared.summary.pass_id
    if not parallel:
        _count(pass_id, scanned=len(batch))
    closures, new_errors = [], []
    for run in batch:
        try:
            closure = _closure(run, policy, now, pass_id)
        except Exception as exc:
            new_errors.append({"run_id": run.id, "error": error_text(exc)})
            continue
        if closure is not None:
            closures.append(closure)
    closed, failed = _close(closures, policy, now, pass_id)
    new_errors += failed
    counts = BatchCounts(len(batch), closed, len(batch) - closed - len(new_errors), new_errors)
    with shared.lock:
        kept = (shared.errors + new_errors)[:MAX_ERRORS]
        _count(
            pass_id,
            scanned=counts.scanned if parallel else 0,
            reconciled=counts.reconciled,
            skipped=counts.skipped,
            error_count=len(new_errors),
            errors=kept or None,
        )
        # Committed runs are expired and only weakly referenced by the session: memory
        # stays bounded by one batch.
        db.session.commit()
        shared.add(counts, kept)


def _count(pass_id, *, errors=(), **added):
    """Add to the pass's counters, and set its kept ``errors`` (a list, or None) if given."""
    values = {name: getattr(ReconcilerPass, name) + n for name, n in added.items() if n}
    if errors != ():
        values["errors"] = errors
    db.session.execute(sa.update(ReconcilerPass).where(ReconcilerPass.id == pass_id).values(values))


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
