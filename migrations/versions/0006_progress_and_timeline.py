"""progress high-water mark and bounded timelines

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 16:30:00.000000

Runs count their timeline events and the late reports and progress regressions they
counted instead of keeping; the timeline is read newest first from (run_id, at, id),
which replaces the index on run_id alone.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

COUNTERS = (
    "event_count",
    "late_reports",
    "late_reports_omitted",
    "progress_regressions",
    "progress_regressions_omitted",
)
TIMES = ("last_late_report_at", "last_regression_at")


def upgrade():
    with op.batch_alter_table("operation_runs", schema=None) as batch_op:
        for name in COUNTERS:
            batch_op.add_column(sa.Column(name, sa.Integer(), server_default="0", nullable=False))
        for name in TIMES:
            batch_op.add_column(sa.Column(name, sa.DateTime(), nullable=True))
    # Existing timelines were kept whole: their counts are their events.
    op.execute(
        "UPDATE operation_runs SET "
        "event_count = (SELECT count(*) FROM run_events e WHERE e.run_id = operation_runs.id), "
        "late_reports = (SELECT count(*) FROM run_events e "
        "WHERE e.run_id = operation_runs.id AND e.kind = 'late_report'), "
        "last_late_report_at = (SELECT max(e.at) FROM run_events e "
        "WHERE e.run_id = operation_runs.id AND e.kind = 'late_report')"
    )
    with op.batch_alter_table("run_events", schema=None) as batch_op:
        batch_op.create_index("ix_run_events_timeline", ["run_id", "at", "id"], unique=False)
        batch_op.drop_index("ix_run_events_run_id")


def downgrade():
    with op.batch_alter_table("run_events", schema=None) as batch_op:
        batch_op.create_index("ix_run_events_run_id", ["run_id"], unique=False)
        batch_op.drop_index("ix_run_events_timeline")
    with op.batch_alter_table("operation_runs", schema=None) as batch_op:
        for name in reversed(TIMES + COUNTERS):
            batch_op.drop_column(name)
