"""list search: a trigram index over the text a run search looks in (PostgreSQL)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 10:00:00.000000

The expression is ``app.operations.search.search_document`` as PostgreSQL renders it; a
query only uses the index while the two are the same. SQLite has no trigram index: there
a search reads the list's own order and filters as it goes.
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

DOCUMENT = (
    "lower((((((coalesce(initiator, '') || ' ') || coalesce(failure_message, '')) || ' ') "
    "|| coalesce(reconciliation_message, '')) || ' ') || coalesce(CAST(context AS TEXT), ''))"
)


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_runs_search ON operation_runs "
        f"USING gin (({DOCUMENT}) gin_trgm_ops)"
    )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_runs_search")
