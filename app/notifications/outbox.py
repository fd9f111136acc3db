"""The outbox: run transitions routed to channels and grouped into deliveries.

Failures and closures by the reconciler are written by the database with the run's
timeline event (see app/models/notifications.py); transitions by time alone by
``detect``. Each event and each item is claimed by one UPDATE, so senders running at once
never route or group the same row twice. Every step commits per batch; a crash loses
nothing.
"""

import json
import uuid
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
    Tenant,
    Workspace,
)
from app.notifications.formatting import (
    LISTED_IN_JSON,
    EventLine,
    GroupFacts,
    payload_of,
    place_of,
)
from app.operations.bulk import relation
from app.operations.reads import SystemReads

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
    skipping any that a unique constraint already holds; ``constants`` fill more columns.
    How many rows were written."""
    if not rows:
        return 0
    source = relation(f"new_{table.name}", [(c, table.c[c].type) for c in columns], rows)
    selected = [source.c[c] for c in columns]
    selected += [sa.literal(v, table.c[k].type) for k, v in constants.items()]
    if is_postgres():
        insert = postgresql.insert(table).on_conflict_do_nothing()
    else:
        insert = sa.insert(table).prefix_with("OR IGNORE")
    statement = insert.from_select([*columns, *constants], sa.select(*selected))
    return len(db.session.scalars(statement.returning(table.c.id)).all())


def _locked(query):
    return query.with_for_update(skip_locked=True) if is_postgres() else query


def _claim_unrouted(batch):
    """Mark up to ``batch`` unrouted events routed; their ids (one statement: two senders
    never route the same event)."""
    pick = sa.select(EVENTS.c.id).where(EVENTS.c.routed == FALSE).order_by(EVENTS.c.id)
    pick = _locked(pick.limit(batch))
    return db.session.scalars(
        sa.update(EVENTS)
        .where(EVENTS.c.id.in_(pick.scalar_subquery()))
        .values(routed=True)
        .returning(EVENTS.c.id)
    ).all()


# The fan-out of claimed events to the enabled channels of their workspace that want their
# kind and tenant (``tenant_ids`` JSON null: every tenant), unless a mute of the tenant
# covers the transition or now. Set-based: the database pairs them, nothing row by row.
_FAN_OUT = """
INSERT {ignore} INTO notification_items (channel_id, event_id, created_at)
SELECT c.id, e.id, :now
FROM notification_events e
JOIN notification_channels c ON c.workspace_id = e.workspace_id AND c.enabled = true
WHERE e.id IN ({ids})
  AND {wants_kind}
  AND (c.tenant_ids IS NULL OR {all_tenants} OR {wants_tenant})
  AND NOT EXISTS (
    SELECT 1 FROM notification_mutes m
    WHERE m.workspace_id = e.workspace_id AND m.tenant_id = e.tenant_id
      AND ((m.created_at <= e.transition_at AND e.transition_at < m.until)
           OR (m.created_at <= :now AND :now < m.until)))
{conflict}"""
_DIALECTS = {
    "postgresql": dict(
        ignore="",
        ids="SELECT unnest(CAST(:ids AS integer[]))",
        wants_kind="CAST(c.events AS jsonb) ? e.kind",
        all_tenants="json_typeof(c.tenant_ids) = 'null'",
        wants_tenant="CAST(c.tenant_ids AS jsonb) @> to_jsonb(e.tenant_id)",
        conflict="ON CONFLICT DO NOTHING",
    ),
    "sqlite": dict(
        ignore="OR IGNORE",
        ids="SELECT value FROM json_each(:ids)",
        wants_kind="EXISTS (SELECT 1 FROM json_each(c.events) k WHERE k.value = e.kind)",
        all_tenants="json_type(c.tenant_ids) = 'null'",
        wants_tenant=(
            "EXISTS (SELECT 1 FROM json_each(c.tenant_ids) t WHERE t.value = e.tenant_id)"
        ),
        conflict="",
    ),
}


@lru_cache(maxsize=2)
def _fan_out(dialect):
    return sa.text(_FAN_OUT.format(**_DIALECTS[dialect])).bindparams(
        sa.bindparam("now", type_=sa.DateTime)
    )


def route(now, batch=BATCH):
    """Give each new event to the enabled channels that want it (mutes respected); how many
    events were routed. Each event is claimed once, with its items in the same commit."""
    routed = 0
    dialect = db.session.get_bind().dialect.name
    while True:
        ids = _claim_unrouted(batch)
        if not ids:
            db.session.rollback()
            return routed
        ids_param = list(ids) if dialect == "postgresql" else json.dumps(list(ids))
        db.session.execute(_fan_out(dialect), {"now": now, "ids": ids_param})
        db.session.commit()
        routed += len(ids)


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
    facts = _facts(delivery.id)
    listed = db.session.execute(_lines_query(), {"d": delivery.id}).all()
    runs = SystemReads(policy, now).runs([row.run_id for row in listed])
    channel = db.session.get(NotificationChannel, channel_id)
    workspace = db.session.get(Workspace, channel.workspace_id)
    lines = [_line(row, runs[row.run_id], policy) for row in listed]
    payload = payload_of(lines, workspace.name, facts)
    delivery.title, delivery.payload = payload["title"], payload
    delivery.event_count = facts.total
    delivery.first_event_at = facts.first_at
    db.session.commit()
    return 1


def _of_delivery(*columns):
    """SELECT ``columns`` over one delivery's events (``d``) and their tenants."""
    tenants = Tenant.__table__
    return (
        sa.select(*columns)
        .select_from(ITEMS)
        .join(EVENTS, EVENTS.c.id == ITEMS.c.event_id)
        .outerjoin(tenants, tenants.c.id == EVENTS.c.tenant_id)
        .where(ITEMS.c.delivery_id == sa.bindparam("d", type_=sa.Integer))
    )


@lru_cache(maxsize=1)
def _facts_queries():
    place = sa.func.coalesce(Tenant.__table__.c.name, place_of(None))
    counts = _of_delivery(EVENTS.c.kind, sa.func.count()).group_by(EVENTS.c.kind)
    spread = _of_delivery(
        sa.func.count(sa.distinct(place)),
        sa.func.min(place),
        sa.func.min(EVENTS.c.transition_at),
        sa.func.max(EVENTS.c.transition_at),
    )
    return counts, spread


def _facts(delivery_id):
    """The GroupFacts of a delivery's events, counted by the database: a group of
    thousands costs two aggregates, not thousands of rows."""
    counts, spread = _facts_queries()
    by_kind = {kind: n for kind, n in db.session.execute(counts, {"d": delivery_id})}
    places, place, first_at, last_at = db.session.execute(spread, {"d": delivery_id}).one()
    return GroupFacts(by_kind, places, place if places == 1 else None, first_at, last_at)


@lru_cache(maxsize=1)
def _lines_query():
    """The events a message lists: its first LISTED_IN_JSON, oldest first (their runs
    are read with ``SystemReads.runs``; an event's run is never deleted before it)."""
    return (
        _of_delivery(EVENTS.c.kind, EVENTS.c.run_id, EVENTS.c.transition_at, EVENTS.c.data)
        .add_columns(Tenant.__table__.c.name)
        .order_by(EVENTS.c.transition_at, EVENTS.c.run_id)
        .limit(LISTED_IN_JSON)
    )


def _line(row, run, policy):
    """The EventLine of an event ``row`` of run ``run`` (a RunRead)."""
    detail = None
    if row.kind == "stale" and row.data:
        detail = (row.data.get("reason") or "").replace("_", " ") or None
    elif row.kind == "reconciled" and run.reconciliation_reason:
        detail = run.reconciliation_reason.removeprefix("stale_").replace("_", " ")
    return EventLine(
        kind=row.kind,
        run_id=row.run_id,
        at=row.transition_at,
        tenant=row.name,
        type_label=policy.for_type(run.type).label,
        detail=detail,
    )
