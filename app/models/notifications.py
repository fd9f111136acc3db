"""Notification channels, the outbox of run transitions, and deliveries with their attempts.

``notification_events`` is the outbox: one row per run and transition. Failures and
closures by the reconciler are written by the database itself, in the transaction that
appends the run's ``completed``/``reconciled`` timeline event (triggers below); time-only
transitions (a run became likely stale, a stale run recovered) are claimed by the sender's
scheduler. The unique (run_id, kind, transition_at) keeps one row per run and transition.
"""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

CHANNEL_KINDS = ("webhook", "slack", "email")
EVENT_KINDS = ("stale", "reconciled", "failed", "recovered")
DELIVERY_STATUSES = ("pending", "sending", "sent", "failed")
UNROUTED = "routed = false"
OPEN_STALE = "kind = 'stale' AND open = true"
UNBATCHED = "delivery_id IS NULL"
DUE = "status IN ('pending', 'sending')"
# What retention may remove once it is old enough: finished deliveries, routed closed events.
FINISHED = "status IN ('sent', 'failed')"
SETTLED = "routed = true AND open = false"


class NotificationChannel(db.Model):
    """Where a workspace's notifications go, which events and which tenants (None: all)."""

    __tablename__ = "notification_channels"
    __table_args__ = (
        sa.UniqueConstraint("workspace_id", "name", name="uq_notification_channels_name"),
        sa.CheckConstraint("kind IN ('webhook', 'slack', 'email')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(sa.ForeignKey("workspaces.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(16))
    # A webhook or Slack URL, or comma-separated email addresses. Secret for URLs.
    target: Mapped[str] = mapped_column(sa.Text)
    signing_secret: Mapped[str | None] = mapped_column(sa.String(100), nullable=True)
    events: Mapped[list] = mapped_column(sa.JSON)
    tenant_ids: Mapped[list | None] = mapped_column(sa.JSON, nullable=True)
    enabled: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(sa.DateTime, nullable=True)
    last_failure_at: Mapped[datetime | None] = mapped_column(sa.DateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    consecutive_failures: Mapped[int] = mapped_column(sa.Integer, default=0)


class NotificationMute(db.Model):
    """A tenant's notifications are not sent until ``until`` (maintenance)."""

    __tablename__ = "notification_mutes"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(sa.ForeignKey("workspaces.id"), index=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))
    until: Mapped[datetime] = mapped_column(sa.DateTime)
    reason: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)


class NotificationEvent(db.Model):
    """The outbox: one transition of one run, routed once to the channels that want it."""

    __tablename__ = "notification_events"
    __table_args__ = (
        sa.UniqueConstraint("run_id", "kind", "transition_at", name="uq_notification_events_once"),
        sa.Index(
            "ix_notification_events_unrouted",
            "id",
            sqlite_where=sa.text(UNROUTED),
            postgresql_where=sa.text(UNROUTED),
        ),
        sa.Index(
            "ix_notification_events_open_stale",
            "run_id",
            sqlite_where=sa.text(OPEN_STALE),
            postgresql_where=sa.text(OPEN_STALE),
        ),
        sa.Index(
            "ix_notification_events_settled",
            "created_at",
            sqlite_where=sa.text(SETTLED),
            postgresql_where=sa.text(SETTLED),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(sa.Integer)
    tenant_id: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    # A run removed (retention, a benchmark's clean-up) takes its news with it.
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("operation_runs.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(16))
    transition_at: Mapped[datetime] = mapped_column(sa.DateTime)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)
    data: Mapped[dict | None] = mapped_column(sa.JSON, nullable=True)
    routed: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    # A stale event stays open until the run recovers or completes.
    open: Mapped[bool] = mapped_column(sa.Boolean, default=False)


class NotificationItem(db.Model):
    """One event for one channel; batched into exactly one delivery."""

    __tablename__ = "notification_items"
    __table_args__ = (
        # Event first: it also finds an event's items (its removal, the cascade).
        sa.UniqueConstraint("event_id", "channel_id", name="uq_notification_items_once"),
        sa.Index(
            "ix_notification_items_unbatched",
            "channel_id",
            "created_at",
            sqlite_where=sa.text(UNBATCHED),
            postgresql_where=sa.text(UNBATCHED),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(sa.ForeignKey("notification_channels.id"))
    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("notification_events.id", ondelete="CASCADE")
    )
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)
    delivery_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("notification_deliveries.id"), nullable=True, index=True
    )


class NotificationDelivery(db.Model):
    """One message to one channel (a group of events, a digest or a test), with retries."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        sa.Index(
            "ix_notification_deliveries_due",
            "next_attempt_at",
            sqlite_where=sa.text(DUE),
            postgresql_where=sa.text(DUE),
        ),
        sa.Index("ix_notification_deliveries_channel", "channel_id", "id"),
        sa.Index(
            "ix_notification_deliveries_finished",
            "created_at",
            sqlite_where=sa.text(FINISHED),
            postgresql_where=sa.text(FINISHED),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(sa.String(36), unique=True)
    channel_id: Mapped[int] = mapped_column(sa.ForeignKey("notification_channels.id"))
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)
    first_event_at: Mapped[datetime | None] = mapped_column(sa.DateTime, nullable=True)
    next_attempt_at: Mapped[datetime] = mapped_column(sa.DateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(sa.DateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(sa.DateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    event_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    title: Mapped[str] = mapped_column(sa.String(300))
    payload: Mapped[dict] = mapped_column(sa.JSON)


class NotificationAttempt(db.Model):
    """One try at sending a delivery: what the receiver said and how long it took."""

    __tablename__ = "notification_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        sa.ForeignKey("notification_deliveries.id"), index=True
    )
    at: Mapped[datetime] = mapped_column(sa.DateTime)
    duration_ms: Mapped[int] = mapped_column(sa.Integer)
    ok: Mapped[bool] = mapped_column(sa.Boolean)
    status_code: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)


# The outbox rows written with a run's failure or closure, in the same transaction.
_COLUMNS = "workspace_id, tenant_id, run_id, kind, transition_at, created_at, routed, open"

SQLITE_TRIGGER = f"""
CREATE TRIGGER IF NOT EXISTS notify_run_failures AFTER INSERT ON run_events
WHEN NEW.kind = 'reconciled'
  OR (NEW.kind = 'completed' AND json_extract(NEW.data, '$.outcome') = 'failed')
BEGIN
INSERT OR IGNORE INTO notification_events ({_COLUMNS})
SELECT r.workspace_id, r.tenant_id, r.id,
       CASE WHEN NEW.kind = 'reconciled' THEN 'reconciled' ELSE 'failed' END,
       NEW.at, NEW.at, 0, 0
FROM operation_runs r WHERE r.id = NEW.run_id;
END"""

# Statement level, over the inserted rows: a reconciler batch costs one INSERT, not one each.
POSTGRESQL_FUNCTION = f"""
CREATE OR REPLACE FUNCTION runwarden_notify_run_failures() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
INSERT INTO notification_events ({_COLUMNS})
SELECT r.workspace_id, r.tenant_id, r.id,
       CASE WHEN e.kind = 'reconciled' THEN 'reconciled' ELSE 'failed' END,
       e.at, e.at, false, false
FROM new_events e JOIN operation_runs r ON r.id = e.run_id
WHERE e.kind = 'reconciled' OR (e.kind = 'completed' AND e.data->>'outcome' = 'failed')
ON CONFLICT DO NOTHING;
RETURN NULL;
END $$"""
POSTGRESQL_TRIGGER = """
CREATE TRIGGER notify_run_failures AFTER INSERT ON run_events
REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT
EXECUTE FUNCTION runwarden_notify_run_failures()"""


def create_triggers(connection):
    """Install the outbox triggers on ``connection``'s database (after the tables exist)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(POSTGRESQL_FUNCTION)
        connection.exec_driver_sql("DROP TRIGGER IF EXISTS notify_run_failures ON run_events")
        connection.exec_driver_sql(POSTGRESQL_TRIGGER)
    else:
        connection.exec_driver_sql(SQLITE_TRIGGER)


@sa.event.listens_for(db.metadata, "after_create")
def _after_create(target, connection, **kw):
    create_triggers(connection)
