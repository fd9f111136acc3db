"""The reconciler's own freshness: is the unattended closer of stale runs still at work?

Every pass is recorded (ReconcilerPass) and the scheduler holding the lease keeps the lease
row renewed, so any process can tell from the database alone when the last pass finished,
when the next one is due, who holds the lease, and whether the reconciler looks stale.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.models import ReconcilerLease, ReconcilerPass
from app.operations.clock import now as clock_now

LEASE_NAME = "reconciler"
# The reconciler looks stale once no pass has finished for this many intervals.
STALE_AFTER_INTERVALS = 3

OFF = "off"
NEVER_RAN = "never_ran"
HEALTHY = "healthy"
STALE = "stale"

FINISHED = "finished"
STOPPED = "stopped"
ABORTED = "aborted"
RUNNING = "running"
INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class ReconcilerStatus:
    """The facts about the reconciler itself at the instant ``as_of`` (the presenter words
    them)."""

    mode: str
    state: str
    looks_stale: bool
    as_of: datetime
    interval_seconds: int
    stale_after_seconds: int
    last_pass_started_at: datetime | None
    last_success_at: datetime | None
    next_pass_at: datetime | None
    lease_holder: str | None
    lease_expires_at: datetime | None
    lease_live: bool


@dataclass(frozen=True)
class PassError:
    """One error recorded on a pass; ``run_id`` None for the pass as a whole."""

    run_id: int | None
    text: str


@dataclass(frozen=True)
class PassRecord:
    """One recorded pass, ready to show. ``errors`` and ``error_count`` are the viewer's own:
    errors on runs they cannot see are neither shown nor counted, and neither are errors
    beyond the ones a pass keeps (their runs are unknown)."""

    id: int
    holder: str
    started_at: datetime
    finished_at: datetime | None
    duration_seconds: float | None
    scanned: int
    reconciled: int
    skipped: int
    error_count: int
    outcome: str
    errors: tuple


def next_pass_at(last_started_at, interval_seconds):
    """When the next scheduled pass is due: one interval after the last one started."""
    if last_started_at is None:
        return None
    return last_started_at + timedelta(seconds=interval_seconds)


def pass_due(now, interval_seconds):
    """Whether a scheduled pass is due at ``now`` (no pass yet, or the interval has passed)."""
    due_at = next_pass_at(_last_started_at(), interval_seconds)
    return due_at is None or now >= due_at


def _last_started_at():
    return db.session.scalar(sa.select(sa.func.max(ReconcilerPass.started_at)))


def _passes_and_lease():
    """(last pass start, last pass end, lease holder, lease expiry) in one statement."""
    passes = sa.select(
        sa.func.max(ReconcilerPass.started_at).label("started"),
        sa.func.max(ReconcilerPass.finished_at).label("finished"),
    ).subquery()
    lease = ReconcilerLease.__table__
    return db.session.execute(
        sa.select(passes.c.started, passes.c.finished, lease.c.holder, lease.c.expires_at)
        .select_from(passes)
        .outerjoin(lease, lease.c.name == LEASE_NAME)
    ).one()


def reconciler_status(now=None, config=None):
    """The ReconcilerStatus at ``now`` (the app clock by default) under ``config``."""
    now = now or clock_now()
    config = config or current_app.config
    mode = config["RUNWARDEN_RECONCILER"]
    interval = config["RECONCILER_INTERVAL_SECONDS"]
    stale_after = config.get("RECONCILER_STALE_AFTER_SECONDS") or STALE_AFTER_INTERVALS * interval
    last_started, last_success, lease_holder, lease_expires_at = _passes_and_lease()
    lease_live = lease_expires_at is not None and lease_expires_at >= now
    if mode == OFF:
        state = OFF
    elif last_success is None:
        state = NEVER_RAN
    elif now > last_success + timedelta(seconds=stale_after):
        state = STALE
    else:
        state = HEALTHY
    upcoming = next_pass_at(last_started, interval) if lease_live else None
    if lease_live and (upcoming is None or upcoming < now):
        upcoming = now
    return ReconcilerStatus(
        mode=mode,
        state=state,
        looks_stale=state in (NEVER_RAN, STALE),
        as_of=now,
        interval_seconds=interval,
        stale_after_seconds=stale_after,
        last_pass_started_at=last_started,
        last_success_at=last_success,
        next_pass_at=upcoming,
        lease_holder=lease_holder,
        lease_expires_at=lease_expires_at,
        lease_live=lease_live,
    )


def recent_passes(limit=20, now=None, can_see_run=None):
    """The latest ``limit`` passes as PassRecords, newest first.

    ``can_see_run(run_ids)`` returns the ids the viewer may see; errors on other runs are
    left out (see PassRecord).
    """
    now = now or clock_now()
    rows = db.session.scalars(
        sa.select(ReconcilerPass)
        .order_by(ReconcilerPass.started_at.desc(), ReconcilerPass.id.desc())
        .limit(limit)
    ).all()
    run_ids = {e["run_id"] for row in rows for e in (row.errors or []) if e.get("run_id")}
    visible = can_see_run(run_ids) if can_see_run and run_ids else set()
    newest = rows[0].id if rows else None
    return [_record(row, row.id == newest, visible, now) for row in rows]


def _record(row, newest, visible, now):
    errors = [
        PassError(entry.get("run_id"), entry.get("error", ""))
        for entry in row.errors or []
        if entry.get("run_id") is None or entry.get("run_id") in visible
    ]
    finished = row.finished_at
    return PassRecord(
        id=row.id,
        holder=row.holder,
        started_at=row.started_at,
        finished_at=finished,
        duration_seconds=(finished - row.started_at).total_seconds() if finished else None,
        scanned=row.scanned,
        reconciled=row.reconciled,
        skipped=row.skipped,
        error_count=len(errors),
        outcome=_outcome(row, newest, now),
        errors=tuple(errors),
    )


def _outcome(row, newest, now):
    notes = {entry.get("pass") for entry in row.errors or []}
    if ABORTED in notes:
        return ABORTED
    if row.finished_at is not None:
        return STOPPED if STOPPED in notes else FINISHED
    interval = current_app.config["RECONCILER_INTERVAL_SECONDS"]
    recent = now <= row.started_at + timedelta(seconds=STALE_AFTER_INTERVALS * interval)
    return RUNNING if newest and recent else INTERRUPTED


def runs_visible_in(reads):
    """A ``can_see_run`` for recent_passes: the ids among ``run_ids`` that ``reads`` (one
    workspace's RunReads, as the page shows it) may see."""
    return reads.visible_ids
