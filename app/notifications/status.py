"""What owners' pages show about channels: failing channels, the delivery log."""

import sqlalchemy as sa

from app.extensions import db
from app.models import NotificationAttempt, NotificationChannel, NotificationDelivery

LOG_LIMIT = 50


def failing_channels(workspace_id):
    """Enabled channels of the workspace whose last attempt failed, by name."""
    return db.session.scalars(
        sa.select(NotificationChannel)
        .where(
            NotificationChannel.workspace_id == workspace_id,
            NotificationChannel.enabled == sa.true(),
            NotificationChannel.consecutive_failures > 0,
        )
        .order_by(NotificationChannel.name)
    ).all()


def failing_warning(workspace_id):
    """The overview's sentence about failing channels, or None when all is well."""
    failing = failing_channels(workspace_id)
    if not failing:
        return None
    names = ", ".join(c.name for c in failing[:3]) + ("…" if len(failing) > 3 else "")
    noun = "channel is" if len(failing) == 1 else "channels are"
    return f"{len(failing)} notification {noun} failing: {names}."


def delivery_log(channel_id, limit=LOG_LIMIT):
    """The channel's latest deliveries, newest first, each with its attempts (oldest first)."""
    deliveries = db.session.scalars(
        sa.select(NotificationDelivery)
        .where(NotificationDelivery.channel_id == channel_id)
        .order_by(NotificationDelivery.id.desc())
        .limit(limit)
    ).all()
    attempts = {}
    if deliveries:
        for attempt in db.session.scalars(
            sa.select(NotificationAttempt)
            .where(NotificationAttempt.delivery_id.in_([d.id for d in deliveries]))
            .order_by(NotificationAttempt.id)
        ):
            attempts.setdefault(attempt.delivery_id, []).append(attempt)
    return [(d, attempts.get(d.id, [])) for d in deliveries]
