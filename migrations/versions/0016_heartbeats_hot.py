"""heartbeat updates are HOT: ix_runs_active_liveness goes, operation_runs gets fillfactor 90

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 14:00:00.000000

A heartbeat changes last_heartbeat_at, which ix_runs_active_liveness (type,
last_heartbeat_at, active runs) held, so no heartbeat update was HOT: each new row version
went into all 8 indexes a running run is in (100 heap and 800 index WAL records for a batch
of 100), and the search index's GIN took all of the row's trigrams again. No statement
reads that index: the reconciler's candidates, the unannounced stale runs, the counts by
freshness and the likely stale count walk ix_runs_active_id in id order (their plans on the
1M-run bench set), and it was scanned once in a whole `make bench`. Without it a heartbeat
changes no indexed column, and with 10 % of each page free (new pages only: existing full
pages keep their rows, which mostly belong to completed runs that are no longer updated) the
new version stays on its page: no index entry at all, and the page's dead versions are
pruned without a vacuum. SQLite has no HOT and keeps the index: its planner serves the
overview's counts by freshness from it (p95 13.8 ms at 1M runs with it, 25.8 without).
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

ACTIVE = "status IN ('queued', 'running')"
FILLFACTOR = 90


def _postgres():
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    if _postgres():
        op.drop_index("ix_runs_active_liveness", table_name="operation_runs")
        op.execute(f"ALTER TABLE operation_runs SET (fillfactor = {FILLFACTOR})")


def downgrade():
    if not _postgres():
        return
    op.execute("ALTER TABLE operation_runs RESET (fillfactor)")
    op.create_index(
        "ix_runs_active_liveness",
        "operation_runs",
        ["type", "last_heartbeat_at"],
        unique=False,
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    )
