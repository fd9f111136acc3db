"""Transitions by time alone, found with the one freshness truth.

``SystemReads.unannounced_stale`` picks runs that are likely stale, in watched workspaces,
with no open "stale" event; ``freshness`` gives each its ``stale_since``; the unique
(run_id, kind, transition_at) keeps exactly one event per run and transition however many
schedulers look at once. An open "stale" event whose run is no longer likely stale is
closed, and the run gets one "recovered" event unless it failed (the failure is news of its
own).
"""

from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from app.notifications.outbox import BATCH, EVENTS, TRUE, insert_ignoring_duplicates, stamp
from app.operations.freshness import LIKELY_STALE, freshness, upcoming_stale_at
from app.operations.reads import SystemReads


def detect_stale(policy, now, batch=BATCH):
    """Write one open "stale" event per run that became likely stale; how many this call
    wrote."""
    found, last_id, reads = 0, 0, SystemReads(policy, now)
    while True:
        runs = reads.unannounced_stale(last_id, batch)
        if not runs:
            return found
        last_id = runs[-1].id
        rows = []
        for run in runs:
            state = freshness(run, policy, now)
            if state.state == LIKELY_STALE:
                rows.append(
                    (
                        run.workspace_id,
                        run.tenant_id,
                        run.id,
                        stamp(state.stale_since),
                        {"reason": state.stale_reason},
                    )
                )
        written = insert_ignoring_duplicates(
            EVENTS,
            ("workspace_id", "tenant_id", "run_id", "transition_at", "data"),
            rows,
            kind="stale",
            created_at=now,
            routed=False,
            open=True,
        )
        db.session.commit()
        found += written  # another sender may have written some first
        if len(runs) < batch:
            return found


def next_stale_at(policy, now, within):
    """The earliest stale deadline, before ``now + within`` seconds, of a watched run with
    no open "stale" event, or None: the sender can wake for it instead of finding it up to
    a poll interval late. A deadline already past (it passed while the tick ran) is
    returned as it is: wake at once."""
    ahead = SystemReads(policy, now + timedelta(seconds=within))
    runs = ahead.unannounced_stale(0, BATCH)
    db.session.rollback()
    deadlines = [upcoming_stale_at(run, policy) for run in runs]
    return min((d for d in deadlines if d is not None), default=None)


def detect_recovered(policy, now, batch=BATCH):
    """Close open "stale" events whose run is no longer likely stale; a run that reported
    again or completed (not failed) gets one "recovered" event. How many recovered."""
    rows = SystemReads(policy, now).recovered(batch)
    if not rows:
        return 0
    closed = db.session.scalars(
        sa.update(EVENTS)
        .where(EVENTS.c.id.in_([r.id for r in rows]), EVENTS.c.open == TRUE)
        .values(open=False)
        .returning(EVENTS.c.id)
    ).all()
    closed = set(closed)
    recovered = [
        (
            r.workspace_id,
            r.tenant_id,
            r.run_id,
            stamp(max(r.completed_at or r.last_heartbeat_at or now, r.transition_at)),
        )
        for r in rows
        if r.id in closed and r.outcome != "failed"
    ]
    insert_ignoring_duplicates(
        EVENTS,
        ("workspace_id", "tenant_id", "run_id", "transition_at"),
        recovered,
        kind="recovered",
        created_at=now,
        routed=False,
        open=False,
    )
    db.session.commit()
    return len(recovered)
