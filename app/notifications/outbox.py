"""The outbox: run transitions found, routed to channels, and grouped into deliveries.

Failures and closures by the reconciler are written by the database with the run's
timeline event (see app/models/notifications.py). Transitions by time alone are found here
with the one freshness truth: ``likely_stale_clause`` picks runs that are likely stale and
have no open "stale" event, ``freshness`` gives each its ``stale_since``, and the unique
(run_id, kind, transition_at) keeps exactly one event per run and transition however many
schedulers look at once. Every step commits per batch; a crash loses nothing.
"""

import uuid
from collections import defaultdict
from datetime import timedelta
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from app.extensions import db
from app.models import (
    NotificationChannel,
    NotificationDelivery,
    NotificationEvent,
    NotificationItem,
    NotificationMute,
    OperationRun,
    Tenant,
    Workspace,
)
from app.models.runs import run_records
from app.notifications.formatting import EventLine, payload_of
from app.operations.freshness import LIKELY_STALE, freshness, instant, likely_stale_clause
from app.operations.queries import fixed

BATCH = 2000
MAX_GROUP = 10_000
EVENTS = NotificationEvent.__table__
ITEMS = NotificationItem.__table__
# Literal, as in the partial indexes' predicates, so the planners match them.
TRUE, FALSE = sa.literal_column("true"), sa.literal_column("false")


def is_postgres():
    return db.session.get_bind().dialect.name == "postgresql"


def insert_ignoring_duplicates(table, rows):
    """INSERT ``rows`` into ``table``, skipping any that a unique constraint already holds."""
    if not rows:
        return
    insert = (postgresql if is_postgres() else sqlite).insert(table)
    db.session.execute(insert.on_conflict_do_nothing(), rows)


def _locked(query):
    return query.with_for_update(skip_locked=True) if is_postgres() else query


@lru_cache(maxsize=16)
def _stale_query(policy, batch):
    runs = OperationRun.__table__
    open_event = sa.exists().where(
        EVENTS.c.run_id == runs.c.id, EVENTS.c.kind == "stale", EVENTS.c.open == TRUE
    )
    watched = sa.select(NotificationChannel.workspace_id).where(
        NotificationChannel.enabled.is_(True)
    )
    return (
        sa.select(runs)
        .where(
            likely_stale_clause(policy),
            runs.c.workspace_id.in_(watched),
            ~open_event,
            runs.c.id > sa.bindparam("last_id", type_=sa.Integer, required=True),
        )
        .order_by(runs.c.id)
        .limit(fixed(batch))
    )


def detect_stale(policy, now, batch=BATCH):
    """Write one open "stale" event per run that became likely stale; how many were new."""
    found, last_id = 0, 0
    while True:
        params = {**instant(policy, now), "last_id": last_id}
        runs = run_records(db.session.execute(_stale_query(policy, batch), params))
        if not runs:
            return found
        last_id = runs[-1].id
        rows = []
        for run in runs:
            state = freshness(run, policy, now)
            if state.state != LIKELY_STALE:
                continue
            rows.append(
                dict(
                    workspace_id=run.workspace_id,
                    tenant_id=run.tenant_id,
                    run_id=run.id,
                    kind="stale",
                    transition_at=state.stale_since,
                    created_at=now,
                    data={"reason": state.stale_reason},
                    routed=False,
                    open=True,
                )
            )
        insert_ignoring_duplicates(EVENTS, rows)
        db.session.commit()
        found += len(rows)
        if len(runs) < batch:
            return found


def detect_recovered(policy, now, batch=BATCH):
    """Close open "stale" events whose run is no longer likely stale; a run that reported
    again or completed (not failed) gets one "recovered" event. How many recovered."""
    runs = OperationRun.__table__
    query = (
        sa.select(
            EVENTS.c.id,
            EVENTS.c.workspace_id,
            EVENTS.c.tenant_id,
            EVENTS.c.run_id,
            runs.c.outcome,
            runs.c.completed_at,
            runs.c.last_heartbeat_at,
            EVENTS.c.transition_at,
        )
        .join(runs, runs.c.id == EVENTS.c.run_id)
        .where(EVENTS.c.kind == "stale", EVENTS.c.open == TRUE)
        .where(sa.not_(likely_stale_clause(policy)))
        .order_by(EVENTS.c.id)
        .limit(fixed(batch))
    )
    rows = db.session.execute(query, instant(policy, now)).all()
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
        dict(
            workspace_id=r.workspace_id,
            tenant_id=r.tenant_id,
            run_id=r.run_id,
            kind="recovered",
            transition_at=max(r.completed_at or r.last_heartbeat_at or now, r.transition_at),
            created_at=now,
            data=None,
            routed=False,
            open=False,
        )
        for r in rows
        if r.id in closed and r.outcome != "failed"
    ]
    insert_ignoring_duplicates(EVENTS, recovered)
    db.session.commit()
    return len(recovered)


def _muted(mutes, event, now):
    return any(
        m.tenant_id == event.tenant_id
        and (m.created_at <= event.transition_at < m.until or m.created_at <= now < m.until)
        for m in mutes.get(event.workspace_id, ())
    )


def _wants(channel, event):
    if event.kind not in channel.events:
        return False
    return channel.tenant_ids is None or event.tenant_id in channel.tenant_ids


def route(now, batch=BATCH):
    """Give each new event to the enabled channels that want it (mutes respected); how many
    events were routed. Each event is routed once: claimed, then marked routed."""
    routed = 0
    while True:
        query = _locked(
            sa.select(EVENTS).where(EVENTS.c.routed == FALSE).order_by(EVENTS.c.id).limit(batch)
        )
        events = db.session.execute(query).all()
        if not events:
            return routed
        spaces = {e.workspace_id for e in events}
        channels = defaultdict(list)
        for channel in db.session.scalars(
            sa.select(NotificationChannel).where(
                NotificationChannel.workspace_id.in_(spaces), NotificationChannel.enabled.is_(True)
            )
        ):
            channels[channel.workspace_id].append(channel)
        mutes = defaultdict(list)
        for mute in db.session.scalars(
            sa.select(NotificationMute).where(
                NotificationMute.workspace_id.in_(spaces),
                NotificationMute.until > min(e.transition_at for e in events),
            )
        ):
            mutes[mute.workspace_id].append(mute)
        items = [
            dict(channel_id=c.id, event_id=e.id, created_at=now)
            for e in events
            if not _muted(mutes, e, now)
            for c in channels[e.workspace_id]
            if _wants(c, e)
        ]
        insert_ignoring_duplicates(ITEMS, items)
        db.session.execute(
            sa.update(EVENTS).where(EVENTS.c.id.in_([e.id for e in events])).values(routed=True)
        )
        db.session.commit()
        routed += len(events)


def group(now, window_seconds, policy):
    """Turn each channel's waiting events into one delivery once the oldest has waited
    ``window_seconds``; returns the deliveries created."""
    cutoff = now - timedelta(seconds=window_seconds)
    due = db.session.scalars(
        sa.select(ITEMS.c.channel_id)
        .where(ITEMS.c.delivery_id.is_(None))
        .group_by(ITEMS.c.channel_id)
        .having(sa.func.min(ITEMS.c.created_at) <= cutoff)
    ).all()
    created = 0
    for channel_id in due:
        created += _group_channel(channel_id, now, policy)
    return created


def _group_channel(channel_id, now, policy):
    runs, tenants = OperationRun.__table__, Tenant.__table__
    claim = _locked(
        sa.select(ITEMS.c.id)
        .where(ITEMS.c.channel_id == channel_id, ITEMS.c.delivery_id.is_(None))
        .order_by(ITEMS.c.id)
        .limit(MAX_GROUP)
    )
    ids = db.session.scalars(claim).all()
    if not ids:
        db.session.rollback()
        return 0
    rows = db.session.execute(
        sa.select(EVENTS.c.kind, EVENTS.c.run_id, EVENTS.c.transition_at, EVENTS.c.data)
        .add_columns(runs.c.type, runs.c.reconciliation_reason, tenants.c.name)
        .select_from(ITEMS)
        .join(EVENTS, EVENTS.c.id == ITEMS.c.event_id)
        .join(runs, runs.c.id == EVENTS.c.run_id)
        .outerjoin(tenants, tenants.c.id == EVENTS.c.tenant_id)
        .where(ITEMS.c.id.in_(ids))
    ).all()
    lines = [_line(row, policy) for row in rows]
    channel = db.session.get(NotificationChannel, channel_id)
    workspace = db.session.get(Workspace, channel.workspace_id)
    payload = payload_of(lines, workspace.name)
    delivery = NotificationDelivery(
        uuid=str(uuid.uuid4()),
        channel_id=channel_id,
        status="pending",
        created_at=now,
        first_event_at=min(line.at for line in lines),
        next_attempt_at=now,
        attempts=0,
        event_count=len(lines),
        title=payload["title"],
        payload=payload,
    )
    db.session.add(delivery)
    db.session.flush()
    taken = db.session.execute(
        sa.update(ITEMS)
        .where(ITEMS.c.id.in_(ids), ITEMS.c.delivery_id.is_(None))
        .values(delivery_id=delivery.id)
    ).rowcount
    if taken != len(ids):  # another sender grouped some of them first (SQLite)
        db.session.rollback()
        return 0
    db.session.commit()
    return 1


def _line(row, policy):
    detail = None
    if row.kind == "stale" and row.data:
        detail = (row.data.get("reason") or "").replace("_", " ") or None
    elif row.kind == "reconciled" and row.reconciliation_reason:
        detail = row.reconciliation_reason.removeprefix("stale_").replace("_", " ")
    return EventLine(
        kind=row.kind,
        run_id=row.run_id,
        at=row.transition_at,
        tenant=row.name,
        type_label=policy.for_type(row.type).label,
        detail=detail,
    )
