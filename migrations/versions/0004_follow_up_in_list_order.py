"""follow-up runs in list order

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 19:20:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

FOLLOW_UP = "outcome IN ('failed', 'partially_succeeded')"


def upgrade():
    with op.batch_alter_table("operation_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_runs_follow_up_created",
            ["workspace_id", "created_at", "id", "completed_at"],
            unique=False,
            sqlite_where=sa.text(FOLLOW_UP),
            postgresql_where=sa.text(FOLLOW_UP),
        )


def downgrade():
    with op.batch_alter_table("operation_runs", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_runs_follow_up_created",
            sqlite_where=sa.text(FOLLOW_UP),
            postgresql_where=sa.text(FOLLOW_UP),
        )
