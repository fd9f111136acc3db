"""sqlite search index: an FTS5 trigram table over the text a run search looks in (SQLite)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 21:00:00.000000

``run_search`` holds each run's searched text (``app.operations.search.search_document``
as SQLite renders it) under the run's id, filled from the runs and kept by triggers on
insert, on an update of a searched column and on delete. A list search on SQLite reads
only the runs it names (``app.operations.text_index``) instead of every run. The trigram
tokenizer needs SQLite 3.34 or later. PostgreSQL has its trigram index (0009): a no-op there.
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _document(row):
    prefix = f"{row}." if row else ""
    return (
        f"lower(coalesce({prefix}initiator, '') || ' ' || coalesce({prefix}failure_message, '')"
        f" || ' ' || coalesce({prefix}reconciliation_message, '') || ' ' || "
        f"coalesce(CAST({prefix}context AS TEXT), ''))"
    )


SEARCHED = "id, initiator, failure_message, reconciliation_message, context"
STATEMENTS = (
    "CREATE VIRTUAL TABLE run_search USING fts5(document, tokenize='trigram')",
    "CREATE TRIGGER run_search_insert AFTER INSERT ON operation_runs BEGIN "
    f"INSERT INTO run_search(rowid, document) VALUES (NEW.id, {_document('NEW')}); END",
    f"CREATE TRIGGER run_search_update AFTER UPDATE OF {SEARCHED} ON operation_runs BEGIN "
    "DELETE FROM run_search WHERE rowid = OLD.id; "
    f"INSERT INTO run_search(rowid, document) VALUES (NEW.id, {_document('NEW')}); END",
    "CREATE TRIGGER run_search_delete AFTER DELETE ON operation_runs BEGIN "
    "DELETE FROM run_search WHERE rowid = OLD.id; END",
    f"INSERT INTO run_search(rowid, document) SELECT id, {_document('')} FROM operation_runs",
)


def upgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS run_search_{name}")
    op.execute("DROP TABLE IF EXISTS run_search")
