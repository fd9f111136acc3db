"""Retention: finished notification work older than NOTIFICATIONS_KEEP_DAYS is removed.

A delivery that was sent or failed for good (with its attempts and items) goes once it was
created more than the kept days ago; an outbox event goes once it is routed, closed and
that old, and no item of it remains. Nothing still to do is ever removed: pending or
sending deliveries, items waiting for a group, unrouted events, open "stale" events (they
keep a run from being reported stale twice). Each batch is one commit; one call removes at
most ``max_batches`` batches of each kind, and the next call goes on.
"""

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import NotificationAttempt, NotificationDelivery
from app.notifications.outbox import EVENTS, FALSE, ITEMS, TRUE

DELIVERIES = NotificationDelivery.__table__
ATTEMPTS = NotificationAttempt.__table__
# Literal, as in the partial index's predicate.
FINISHED = [sa.literal_column("'sent'"), sa.literal_column("'failed'")]


@dataclass
class Pruned:
    """What one call removed."""

    deliveries: int = 0
    attempts: int = 0
    items: int = 0
    events: int = 0

    def __bool__(self):
        return bool(self.deliveries or self.attempts or self.items or self.events)


def cutoff_for(now, keep_days):
    """Rows created before this instant are old enough to go (exactly ``keep_days`` old
    stays)."""
    return now - timedelta(days=keep_days)


def _prune_deliveries(cutoff, batch, pruned):
    ids = db.session.scalars(
        sa.select(DELIVERIES.c.id)
        .where(DELIVERIES.c.status.in_(FINISHED), DELIVERIES.c.created_at < cutoff)
        .order_by(DELIVERIES.c.created_at, DELIVERIES.c.id)
        .limit(batch)
    ).all()
    if ids:
        pruned.attempts += db.session.execute(
            sa.delete(ATTEMPTS).where(ATTEMPTS.c.delivery_id.in_(ids))
        ).rowcount
        pruned.items += db.session.execute(
            sa.delete(ITEMS).where(ITEMS.c.delivery_id.in_(ids))
        ).rowcount
        pruned.deliveries += db.session.execute(
            sa.delete(DELIVERIES).where(DELIVERIES.c.id.in_(ids), DELIVERIES.c.status.in_(FINISHED))
        ).rowcount
    db.session.commit()
    return len(ids)


def _prune_events(cutoff, batch, pruned):
    has_items = sa.exists().where(ITEMS.c.event_id == EVENTS.c.id)
    ids = db.session.scalars(
        sa.select(EVENTS.c.id)
        .where(
            EVENTS.c.routed == TRUE,
            EVENTS.c.open == FALSE,
            EVENTS.c.created_at < cutoff,
            ~has_items,
        )
        .order_by(EVENTS.c.created_at, EVENTS.c.id)
        .limit(batch)
    ).all()
    if ids:
        # Re-checked in the DELETE: an item written since (a late route) keeps its event.
        pruned.events += db.session.execute(
            sa.delete(EVENTS).where(
                EVENTS.c.id.in_(ids), EVENTS.c.routed == TRUE, EVENTS.c.open == FALSE, ~has_items
            )
        ).rowcount
    db.session.commit()
    return len(ids)


def prune(now, keep_days, batch=1000, max_batches=10):
    """Remove finished deliveries and settled events older than ``keep_days``; a Pruned."""
    if keep_days <= 0:
        raise ValueError("keep_days must be positive")
    cutoff, pruned = cutoff_for(now, keep_days), Pruned()
    for step in (_prune_deliveries, _prune_events):
        for _ in range(max_batches):
            if step(cutoff, batch, pruned) < batch:
                break
    return pruned
