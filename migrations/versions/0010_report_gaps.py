"""longest heartbeat and progress gaps per run, kept at report time

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 19:40:00.000000

Each run keeps the longest silence (seconds) between its heartbeats and between its
progress steps, updated by the statement that records the report (see
``app.operations.statements``). Runs that existed before this revision keep NULL: their
earlier gaps are unknown, and the insights say how many runs they are. Runs created
afterwards start at 0.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

COLUMNS = ("heartbeat_gap_max", "progress_gap_max")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name in COLUMNS:  # no rewrite: existing rows read NULL, new rows the default
            op.add_column("operation_runs", sa.Column(name, sa.Float(), nullable=True))
            op.alter_column("operation_runs", name, server_default="0")
        return
    # SQLite adds a column with its default in place (a batch copy would break the
    # notification trigger); the rows that were already there are then marked unknown.
    for name in COLUMNS:
        op.add_column(
            "operation_runs", sa.Column(name, sa.Float(), nullable=True, server_default="0")
        )
    op.execute("UPDATE operation_runs SET heartbeat_gap_max = NULL, progress_gap_max = NULL")


def downgrade():
    for name in reversed(COLUMNS):
        op.drop_column("operation_runs", name)
