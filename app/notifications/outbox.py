"""The outbox: run transitions routed to channels and grouped into deliveries.

Failures and closures by the reconciler are written by the database with the run's
timeline event (see app/models/notifications.py); transitions by time alone by
``detect``. Each event and each item is claimed by one UPDATE, so senders running at once
never route or group the same row twice. Every step commits per batch; a crash loses
nothing.
"""

import uuid
from collections import defaultdict
from datetime import timedelta
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

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
from app.notifications.formatting import EventLine, payload_of
from app.operations.bulk import relation

BATCH = 2000
MAX_GROUP = 10_000
EVENTS = NotificationEvent.__table__
ITEMS = NotificationItem.__table__
# Literal, as in the partial indexes' predicates, so the planners match them.
TRUE, FALSE = sa.literal_column("true"), sa.literal_column("false")


def is_postgres():
    return db.session.get_bind().dialect.name == "postgresql"


def stamp(at):
    """A timestamp as a value of a bound relation (the text both databases store)."""
    return at.strftime("%Y-%m-%d %H:%M:%S.%f")


def insert_ignoring_duplicates(table, columns, rows, **constants):
    """INSERT ``rows`` (sequences in ``columns`` order) into ``table`` in one statement,
    skipping any that a unique constraint already holds; ``constants`` fill more columns."""
    if not rows:
        return
    source = relation(f"new_{table.name}", [(c, table.c[c].type) for c in columns], rows)
    selected = [source.c[c] for c in columns]
    selected += [sa.literal(v, table.c[k].type) for k, v in constants.items()]
    if is_postgres():
        insert = postgresql.insert(table).on_conflict_do_nothing()
    else:
        insert = sa.insert(table).prefix_with("OR IGNORE")
    db.session.execute(insert.from_select([*columns, *constants], sa.select(*selected)))


def _locked(query):
    return query.with_for_update(skip_locked=True) if is_postgres() else query


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


def _claim_unrouted(batch):
    """Mark up to ``batch`` unrouted events routed and return them (one statement: two
    senders never route the same event)."""
    pick = sa.select(EVENTS.c.id).where(EVENTS.c.routed == FALSE).order_by(EVENTS.c.id)
    pick = _locked(pick.limit(batch))
    return db.session.execute(
        sa.update(EVENTS)
        .where(EVENTS.c.id.in_(pick.scalar_subquery()))
        .values(routed=True)
        .returning(
            EVENTS.c.id,
            EVENTS.c.workspace_id,
            EVENTS.c.tenant_id,
            EVENTS.c.kind,
            EVENTS.c.transition_at,
        )
    ).all()


def _listeners(spaces, since):
    """(enabled channels, mutes ending after ``since``) of the workspaces, by workspace."""
    channels, mutes = defaultdict(list), defaultdict(list)
    for channel in db.session.scalars(
        sa.select(NotificationChannel).where(
            NotificationChannel.workspace_id.in_(spaces), NotificationChannel.enabled == TRUE
        )
    ):
        channels[channel.workspace_id].append(channel)
    for mute in db.session.scalars(
        sa.select(NotificationMute).where(
            NotificationMute.workspace_id.in_(spaces), NotificationMute.until > since
        )
    ):
        mutes[mute.workspace_id].append(mute)
    return channels, mutes


def route(now, batch=BATCH):
    """Give each new event to the enabled channels that want it (mutes respected); how many
    events were routed. Each event is claimed once, with its items in the same commit."""
    routed = 0
    while True:
        events = _claim_unrouted(batch)
        if not events:
            db.session.rollback()
            return routed
        spaces = {e.workspace_id for e in events}
        channels, mutes = _listeners(spaces, min(e.transition_at for e in events))
        items = [
            (c.id, e.id)
            for e in events
            if not _muted(mutes, e, now)
            for c in channels[e.workspace_id]
            if _wants(c, e)
        ]
        insert_ignoring_duplicates(ITEMS, ("channel_id", "event_id"), items, created_at=now)
        db.session.commit()
        routed += len(events)


def group(now, window_seconds, policy, after_each=None):
    """Turn each channel's waiting events into one delivery once the oldest transition
    is ``window_seconds`` old (a catch-up's old events at once, in one digest); returns
    the deliveries created. ``after_each`` runs after each one (to send it at once)."""
    cutoff = now - timedelta(seconds=window_seconds)
    due = db.session.scalars(
        sa.select(ITEMS.c.channel_id)
        .join(EVENTS, EVENTS.c.id == ITEMS.c.event_id)
        .where(ITEMS.c.delivery_id.is_(None))
        .group_by(ITEMS.c.channel_id)
        .having(sa.func.min(EVENTS.c.transition_at) <= cutoff)
    ).all()
    created = 0
    for channel_id in due:
        made = _group_channel(channel_id, now, policy)
        created += made
        if made and after_each is not None:
            after_each()
    return created


def _group_channel(channel_id, now, policy):
    """One delivery holding the channel's waiting events (at most MAX_GROUP), claimed in
    one UPDATE; 0 when another sender took them first."""
    delivery = NotificationDelivery(
        uuid=str(uuid.uuid4()),
        channel_id=channel_id,
        status="pending",
        created_at=now,
        next_attempt_at=now,
        attempts=0,
        event_count=0,
        title="",
        payload={},
    )
    db.session.add(delivery)
    db.session.flush()
    pick = sa.select(ITEMS.c.id).where(
        ITEMS.c.channel_id == channel_id, ITEMS.c.delivery_id.is_(None)
    )
    pick = _locked(pick.order_by(ITEMS.c.id).limit(MAX_GROUP))
    taken = db.session.execute(
        sa.update(ITEMS)
        .where(ITEMS.c.id.in_(pick.scalar_subquery()))
        .values(delivery_id=delivery.id)
    ).rowcount
    if not taken:
        db.session.rollback()
        return 0
    lines = [_line(row, policy) for row in db.session.execute(_lines_query(), {"d": delivery.id})]
    channel = db.session.get(NotificationChannel, channel_id)
    workspace = db.session.get(Workspace, channel.workspace_id)
    payload = payload_of(lines, workspace.name)
    delivery.title, delivery.payload = payload["title"], payload
    delivery.event_count = len(lines)
    delivery.first_event_at = min(line.at for line in lines)
    db.session.commit()
    return 1


@lru_cache(maxsize=1)
def _lines_query():
    runs, tenants = OperationRun.__table__, Tenant.__table__
    return (
        sa.select(EVENTS.c.kind, EVENTS.c.run_id, EVENTS.c.transition_at, EVENTS.c.data)
        .add_columns(runs.c.type, runs.c.reconciliation_reason, tenants.c.name)
        .select_from(ITEMS)
        .join(EVENTS, EVENTS.c.id == ITEMS.c.event_id)
        .join(runs, runs.c.id == EVENTS.c.run_id)
        .outerjoin(tenants, tenants.c.id == EVENTS.c.tenant_id)
        .where(ITEMS.c.delivery_id == sa.bindparam("d", type_=sa.Integer))
    )


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
