"""active runs by id: the reconciler's candidate index

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 15:35:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ACTIVE_PREDICATE = "status IN ('queued', 'running')"


def upgrade():
    with op.batch_alter_table("operation_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_runs_active_id",
            ["id"],
            unique=False,
            sqlite_where=sa.text(ACTIVE_PREDICATE),
            postgresql_where=sa.text(ACTIVE_PREDICATE),
        )


def downgrade():
    with op.batch_alter_table("operation_runs", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_runs_active_id",
            sqlite_where=sa.text(ACTIVE_PREDICATE),
            postgresql_where=sa.text(ACTIVE_PREDICATE),
        )
