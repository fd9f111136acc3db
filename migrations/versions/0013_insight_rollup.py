"""insight rollup: per workspace, tenant, type and UTC day, what the insights page reads

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 23:00:00.000000

``insight_days`` holds, per (workspace, tenant key, operation type, UTC day), completed
runs by outcome, exact false-alarm counts and "noticed after" sums under the type's
windows named by ``policy`` (a fingerprint), and 2 % log-scale buckets of each measure
with its exact maximum; ``insight_rollup_state`` its high-water mark. The reconciler's
upkeep fills them (``app.operations.rollup``). ``ix_runs_completed`` lets it read the
runs completed in a time range.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

COUNTS = (
    "succeeded",
    "partially_succeeded",
    "failed",
    "cancelled",
    "reconciled",
    "gaps_known",
    "alarms_queued",
    "alarms_running",
    "alarms_heartbeat",
    "alarms_progress",
    "alarms_any",
    "noticed_runs",
)
MEASURES = ("queue_wait", "run_time", "heartbeat_gap", "progress_gap")
COMPLETED = "completed_at IS NOT NULL"


def _columns():
    columns = [sa.Column(name, sa.Integer(), nullable=False, server_default="0") for name in COUNTS]
    columns += [
        sa.Column("noticed_shown", sa.Float(), nullable=False, server_default="0"),
        sa.Column("noticed_closed", sa.Float(), nullable=False, server_default="0"),
    ]
    for name in MEASURES:
        columns += [
            sa.Column(f"{name}_n", sa.Integer(), nullable=False, server_default="0"),
            sa.Column(f"{name}_max", sa.Float(), nullable=True),
            sa.Column(f"{name}_low", sa.Integer(), nullable=False, server_default="0"),
            sa.Column(f"{name}_counts", sa.LargeBinary(), nullable=True),
        ]
    return columns


def upgrade():
    op.create_table(
        "insight_days",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("tenant_key", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("policy", sa.String(length=32), nullable=False),
        *_columns(),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"]),
        sa.PrimaryKeyConstraint("workspace_id", "tenant_key", "type", "day"),
    )
    op.create_index("ix_insight_days_day", "insight_days", ["day"], unique=False)
    op.create_table(
        "insight_rollup_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rolled_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_runs_completed",
        "operation_runs",
        ["completed_at"],
        unique=False,
        sqlite_where=sa.text(COMPLETED),
        postgresql_where=sa.text(COMPLETED),
    )


def downgrade():
    op.drop_index("ix_runs_completed", table_name="operation_runs")
    op.drop_table("insight_rollup_state")
    op.drop_index("ix_insight_days_day", table_name="insight_days")
    op.drop_table("insight_days")
