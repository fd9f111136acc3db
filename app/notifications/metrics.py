"""Notification metrics, read from the database at scrape time (the sender may run in
another process): deliveries sent and failed by channel kind, and delivery lag."""

import sqlalchemy as sa
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from app.extensions import db
from app.models import NotificationChannel, NotificationDelivery
from app.models.notifications import CHANNEL_KINDS


def collect(now):
    """The notification metric families at ``now``."""
    sent = CounterMetricFamily(
        "runwarden_notifications_sent", "Notifications delivered", labels=["kind"]
    )
    failed = CounterMetricFamily(
        "runwarden_notifications_failed",
        "Notifications given up after their retries",
        labels=["kind"],
    )
    counts = dict(
        ((kind, status), n)
        for kind, status, n in db.session.execute(
            sa.select(NotificationChannel.kind, NotificationDelivery.status, sa.func.count())
            .join(NotificationChannel, NotificationChannel.id == NotificationDelivery.channel_id)
            .where(NotificationDelivery.status.in_(("sent", "failed")))
            .group_by(NotificationChannel.kind, NotificationDelivery.status)
        )
    )
    for kind in CHANNEL_KINDS:
        sent.add_metric([kind], counts.get((kind, "sent"), 0))
        failed.add_metric([kind], counts.get((kind, "failed"), 0))
    yield sent
    yield failed
    yield _lag(now)


def _lag(now):
    lag = GaugeMetricFamily(
        "runwarden_notifications_delivery_lag_seconds",
        "Seconds from the first event of the oldest waiting delivery (or, with none "
        "waiting, of the last one sent) to its sending",
    )
    waiting = db.session.scalar(
        sa.select(sa.func.min(NotificationDelivery.first_event_at)).where(
            NotificationDelivery.status.in_(("pending", "sending"))
        )
    )
    if waiting is not None:
        lag.add_metric([], max(0.0, (now - waiting).total_seconds()))
        return lag
    last = db.session.execute(
        sa.select(NotificationDelivery.sent_at, NotificationDelivery.first_event_at)
        .where(
            NotificationDelivery.status == "sent",
            NotificationDelivery.first_event_at.is_not(None),
        )
        .order_by(NotificationDelivery.id.desc())
        .limit(1)
    ).first()
    lag.add_metric([], (last.sent_at - last.first_event_at).total_seconds() if last else 0.0)
    return lag
