"""PostgreSQL vacuums and analyzes operation_runs after 0.5 % of its rows changed, not 20 %

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 00:00:00.000000

PostgreSQL's defaults vacuum a table once 20 % of its rows are dead (200,000 at 1M runs)
and analyze it after 10 % changed. A reconciler pass closing 10,000 stale runs leaves
10,000 dead row versions and 10,000 new follow-ups on pages no longer marked all-visible,
far below either mark. Measured at 1M runs after two such passes whose 20,000 runs were
then deleted again (40,000 dead row versions, as two runs of the bench leave them): the
follow-up counts' index-only scan visited the table 20,709 times, and the overview's
statements took 67 ms instead of 4 ms (the dashboard's 31 ms instead of 9 ms) until a
manual VACUUM (one such pass: 709 visits, the follow-up count 2.1 ms instead of 1.1 ms). With 1,000 rows plus 0.5 % (6,000 at 1M runs, 26,000 at 5M)
autovacuum comes within a minute of such a pass; a vacuum reads only the pages changed
since the last one. SQLite has no vacuum of this kind: nothing changes there.
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

SETTINGS = {
    "autovacuum_vacuum_threshold": "1000",
    "autovacuum_vacuum_scale_factor": "0.005",
    "autovacuum_vacuum_insert_threshold": "1000",
    "autovacuum_vacuum_insert_scale_factor": "0.005",
    "autovacuum_analyze_threshold": "1000",
    "autovacuum_analyze_scale_factor": "0.005",
}


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    values = ", ".join(f"{name} = {value}" for name, value in SETTINGS.items())
    op.execute(f"ALTER TABLE operation_runs SET ({values})")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE operation_runs RESET ({', '.join(SETTINGS)})")
