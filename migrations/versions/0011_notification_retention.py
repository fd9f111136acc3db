"""notification retention: indexes to find finished deliveries and settled events by age

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 20:00:00.000000

The reconciler's upkeep removes deliveries (with their attempts and items) and outbox
events older than NOTIFICATIONS_KEEP_DAYS; these indexes let it find them without reading
the tables whole; the items' unique constraint now leads with the event, so that an
event's removal (and its cascade) finds its items.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

FINISHED = "status IN ('sent', 'failed')"
SETTLED = "routed = true AND open = false"


def upgrade():
    with op.batch_alter_table("notification_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notification_deliveries_finished",
            ["created_at"],
            unique=False,
            sqlite_where=sa.text(FINISHED),
            postgresql_where=sa.text(FINISHED),
        )
    with op.batch_alter_table("notification_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notification_events_settled",
            ["created_at"],
            unique=False,
            sqlite_where=sa.text(SETTLED),
            postgresql_where=sa.text(SETTLED),
        )
    _items_unique("event_id", "channel_id")


def _items_unique(*columns):
    with op.batch_alter_table("notification_items", schema=None) as batch_op:
        batch_op.drop_constraint("uq_notification_items_once", type_="unique")
        batch_op.create_unique_constraint("uq_notification_items_once", list(columns))


def downgrade():
    _items_unique("channel_id", "event_id")
    with op.batch_alter_table("notification_events", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_events_settled")
    with op.batch_alter_table("notification_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_deliveries_finished")
