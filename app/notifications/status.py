"""What owners' pages show about channels: failing channels, the delivery log."""

from dataclasses import dataclass

import sqlalchemy as sa

from app.extensions import db
from app.models import NotificationAttempt, NotificationChannel, NotificationDelivery
from app.notifications.channels import EVENT_LABELS, KIND_LABELS, mask_secret, masked_target

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


@dataclass(frozen=True)
class ChannelView:
    """A channel as the owners' pages show it: finished words, the secret masked."""

    id: int
    name: str
    kind_label: str
    target: str
    signing_secret: str | None
    events: tuple
    tenants: str
    state: str
    tone: str
    last_error: str | None
    last_success_at: str | None


def _stamp(at):
    return f"{at:%Y-%m-%d %H:%M:%S} UTC" if at else None


def channel_view(channel, tenant_names):
    """The ChannelView of ``channel``; ``tenant_names`` maps the workspace's tenant ids."""
    if not channel.enabled:
        state, tone = "Disabled", "neutral"
    elif channel.consecutive_failures:
        n = channel.consecutive_failures
        state, tone = f"Failing ({n} failed attempt{'s' if n != 1 else ''} in a row)", "danger"
    else:
        state, tone = "Active", "success"
    if channel.tenant_ids is None:
        tenants = "All tenants"
    else:
        tenants = ", ".join(tenant_names.get(i, "(removed)") for i in channel.tenant_ids)
    return ChannelView(
        id=channel.id,
        name=channel.name,
        kind_label=KIND_LABELS[channel.kind],
        target=masked_target(channel),
        signing_secret=mask_secret(channel.signing_secret),
        events=tuple(EVENT_LABELS[k] for k in channel.events),
        tenants=tenants,
        state=state,
        tone=tone,
        last_error=channel.last_error,
        last_success_at=_stamp(channel.last_success_at),
    )


@dataclass(frozen=True)
class DeliveryView:
    """One delivery of the log with its attempts."""

    id: str
    title: str
    state: str
    tone: str
    created_at: str
    sent_at: str | None
    next_attempt_at: str | None
    event_count: int
    attempts: tuple


STATES = {
    "pending": ("Waiting to retry", "warning"),
    "sending": ("Sending", "info"),
    "sent": ("Delivered", "success"),
    "failed": ("Failed for good", "danger"),
}


def delivery_views(channel_id, limit=LOG_LIMIT):
    """The delivery log of a channel as DeliveryViews, newest first."""
    views = []
    for delivery, tries in delivery_log(channel_id, limit):
        state, tone = STATES[delivery.status]
        if delivery.status == "pending" and delivery.attempts == 0:
            state = "Queued"
        views.append(
            DeliveryView(
                id=delivery.uuid,
                title=delivery.title,
                state=state,
                tone=tone,
                created_at=_stamp(delivery.created_at),
                sent_at=_stamp(delivery.sent_at),
                next_attempt_at=_stamp(delivery.next_attempt_at)
                if delivery.status == "pending"
                else None,
                event_count=delivery.event_count,
                attempts=tuple(
                    (
                        _stamp(a.at),
                        "OK" if a.ok else "Failed",
                        a.status_code,
                        a.error,
                        a.duration_ms,
                    )
                    for a in tries
                ),
            )
        )
    return views
