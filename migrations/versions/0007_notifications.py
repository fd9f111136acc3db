"""notification channels, outbox and deliveries

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 16:35:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The outbox triggers as of this revision (app/models/notifications.py keeps the current ones).
SQLITE_TRIGGER = "\nCREATE TRIGGER IF NOT EXISTS notify_run_failures AFTER INSERT ON run_events\nWHEN NEW.kind = 'reconciled'\n  OR (NEW.kind = 'completed' AND json_extract(NEW.data, '$.outcome') = 'failed')\nBEGIN\nINSERT OR IGNORE INTO notification_events (workspace_id, tenant_id, run_id, kind, transition_at, created_at, routed, open)\nSELECT r.workspace_id, r.tenant_id, r.id,\n       CASE WHEN NEW.kind = 'reconciled' THEN 'reconciled' ELSE 'failed' END,\n       NEW.at, NEW.at, 0, 0\nFROM operation_runs r WHERE r.id = NEW.run_id;\nEND"
POSTGRESQL_FUNCTION = "\nCREATE OR REPLACE FUNCTION runwarden_notify_run_failures() RETURNS trigger\nLANGUAGE plpgsql AS $$\nBEGIN\nINSERT INTO notification_events (workspace_id, tenant_id, run_id, kind, transition_at, created_at, routed, open)\nSELECT r.workspace_id, r.tenant_id, r.id,\n       CASE WHEN e.kind = 'reconciled' THEN 'reconciled' ELSE 'failed' END,\n       e.at, e.at, false, false\nFROM new_events e JOIN operation_runs r ON r.id = e.run_id\nWHERE e.kind = 'reconciled' OR (e.kind = 'completed' AND e.data->>'outcome' = 'failed')\nON CONFLICT DO NOTHING;\nRETURN NULL;\nEND $$"
POSTGRESQL_TRIGGER = "\nCREATE TRIGGER notify_run_failures AFTER INSERT ON run_events\nREFERENCING NEW TABLE AS new_events FOR EACH STATEMENT\nEXECUTE FUNCTION runwarden_notify_run_failures()"


def _create_triggers():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRESQL_FUNCTION)
        op.execute(POSTGRESQL_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)


def _drop_triggers():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS notify_run_failures ON run_events")
        op.execute("DROP FUNCTION IF EXISTS runwarden_notify_run_failures()")
    else:
        op.execute("DROP TRIGGER IF EXISTS notify_run_failures")


def upgrade():
    op.create_table(
        "notification_channels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("signing_secret", sa.String(length=100), nullable=True),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("tenant_ids", sa.JSON(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("last_success_at", sa.DateTime(), nullable=True),
        sa.Column("last_failure_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('webhook', 'slack', 'email')", name=op.f("ck_notification_channels_kind")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_notification_channels_workspace_id_workspaces"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_channels")),
        sa.UniqueConstraint("workspace_id", "name", name="uq_notification_channels_name"),
    )
    with op.batch_alter_table("notification_channels", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_channels_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("first_event_at", sa.DateTime(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["notification_channels.id"],
            name=op.f("fk_notification_deliveries_channel_id_notification_channels"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_deliveries")),
        sa.UniqueConstraint("uuid", name=op.f("uq_notification_deliveries_uuid")),
    )
    with op.batch_alter_table("notification_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notification_deliveries_channel", ["channel_id", "id"], unique=False
        )
        batch_op.create_index(
            "ix_notification_deliveries_due",
            ["next_attempt_at"],
            unique=False,
            sqlite_where=sa.text("status IN ('pending', 'sending')"),
            postgresql_where=sa.text("status IN ('pending', 'sending')"),
        )

    op.create_table(
        "notification_mutes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("until", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_notification_mutes_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_notification_mutes_workspace_id_workspaces"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_mutes")),
    )
    with op.batch_alter_table("notification_mutes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_mutes_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "notification_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["notification_deliveries.id"],
            name=op.f("fk_notification_attempts_delivery_id_notification_deliveries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_attempts")),
    )
    with op.batch_alter_table("notification_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_attempts_delivery_id"), ["delivery_id"], unique=False
        )

    op.create_table(
        "notification_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("transition_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("routed", sa.Boolean(), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["operation_runs.id"],
            name=op.f("fk_notification_events_run_id_operation_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_events")),
        sa.UniqueConstraint("run_id", "kind", "transition_at", name="uq_notification_events_once"),
    )
    with op.batch_alter_table("notification_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notification_events_open_stale",
            ["run_id"],
            unique=False,
            sqlite_where=sa.text("kind = 'stale' AND open = true"),
            postgresql_where=sa.text("kind = 'stale' AND open = true"),
        )
        batch_op.create_index(
            "ix_notification_events_unrouted",
            ["id"],
            unique=False,
            sqlite_where=sa.text("routed = false"),
            postgresql_where=sa.text("routed = false"),
        )

    op.create_table(
        "notification_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["notification_channels.id"],
            name=op.f("fk_notification_items_channel_id_notification_channels"),
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["notification_deliveries.id"],
            name=op.f("fk_notification_items_delivery_id_notification_deliveries"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["notification_events.id"],
            name=op.f("fk_notification_items_event_id_notification_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_items")),
        sa.UniqueConstraint("channel_id", "event_id", name="uq_notification_items_once"),
    )
    with op.batch_alter_table("notification_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_items_delivery_id"), ["delivery_id"], unique=False
        )
        batch_op.create_index(
            "ix_notification_items_unbatched",
            ["channel_id", "created_at"],
            unique=False,
            sqlite_where=sa.text("delivery_id IS NULL"),
            postgresql_where=sa.text("delivery_id IS NULL"),
        )
    _create_triggers()


def downgrade():
    _drop_triggers()
    with op.batch_alter_table("notification_items", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_notification_items_unbatched",
            sqlite_where=sa.text("delivery_id IS NULL"),
            postgresql_where=sa.text("delivery_id IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_notification_items_delivery_id"))

    op.drop_table("notification_items")
    with op.batch_alter_table("notification_events", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_notification_events_unrouted",
            sqlite_where=sa.text("routed = false"),
            postgresql_where=sa.text("routed = false"),
        )
        batch_op.drop_index(
            "ix_notification_events_open_stale",
            sqlite_where=sa.text("kind = 'stale' AND open = true"),
            postgresql_where=sa.text("kind = 'stale' AND open = true"),
        )

    op.drop_table("notification_events")
    with op.batch_alter_table("notification_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_attempts_delivery_id"))

    op.drop_table("notification_attempts")
    with op.batch_alter_table("notification_mutes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_mutes_workspace_id"))

    op.drop_table("notification_mutes")
    with op.batch_alter_table("notification_deliveries", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_notification_deliveries_due",
            sqlite_where=sa.text("status IN ('pending', 'sending')"),
            postgresql_where=sa.text("status IN ('pending', 'sending')"),
        )
        batch_op.drop_index("ix_notification_deliveries_channel")

    op.drop_table("notification_deliveries")
    with op.batch_alter_table("notification_channels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_channels_workspace_id"))

    op.drop_table("notification_channels")
