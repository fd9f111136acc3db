"""SQLite's text index for list search: an FTS5 table with the ``trigram`` tokenizer.

``run_search`` holds, under each run's id as its rowid, exactly the text a list search
looks in (``app.operations.reads.search.search_document`` as SQLite renders it), kept by
triggers on every insert, on an update of a searched column and on delete. A search uses
it only to narrow the candidate runs (``app.operations.text_index``); the search's own
LIKE and the list's scoped WHERE still decide. PostgreSQL has its trigram index instead
(migration 0009): nothing here runs there. Migration 0012 creates the same objects.
"""

import sqlalchemy as sa

from app.models.runs import OperationRun

TABLE = "run_search"
# The trigram tokenizer needs SQLite 3.34; it folds case (case_sensitive 0, its default).
CREATE_TABLE = f"CREATE VIRTUAL TABLE {TABLE} USING fts5(document, tokenize='trigram')"


def document(row):
    """The searched text of ``row`` (NEW or OLD in a trigger, nothing for the table)."""
    prefix = f"{row}." if row else ""
    return (
        f"lower(coalesce({prefix}initiator, '') || ' ' || coalesce({prefix}failure_message, '')"
        f" || ' ' || coalesce({prefix}reconciliation_message, '') || ' ' || "
        f"coalesce(CAST({prefix}context AS TEXT), ''))"
    )


SEARCHED = "initiator, failure_message, reconciliation_message, context"
TRIGGERS = (
    f"CREATE TRIGGER run_search_insert AFTER INSERT ON operation_runs BEGIN "
    f"INSERT INTO {TABLE}(rowid, document) VALUES (NEW.id, {document('NEW')}); END",
    f"CREATE TRIGGER run_search_update AFTER UPDATE OF id, {SEARCHED} ON operation_runs BEGIN "
    f"DELETE FROM {TABLE} WHERE rowid = OLD.id; "
    f"INSERT INTO {TABLE}(rowid, document) VALUES (NEW.id, {document('NEW')}); END",
    f"CREATE TRIGGER run_search_delete AFTER DELETE ON operation_runs BEGIN "
    f"DELETE FROM {TABLE} WHERE rowid = OLD.id; END",
)
FILL = f"INSERT INTO {TABLE}(rowid, document) SELECT id, {document('')} FROM operation_runs"


def is_own_table(name):
    """Whether table ``name`` is this index or one of FTS5's shadow tables behind it (the
    models do not describe them: a comparison with the models leaves them out)."""
    return name == TABLE or name.startswith(f"{TABLE}_")


def include_name(name, type_, parent_names):
    """Alembic's ``include_name`` hook: every name but this index's tables."""
    return not (type_ == "table" and is_own_table(name))


def create(connection):
    """(Re)create the table, its triggers and its rows from the runs (SQLite only)."""
    if connection.dialect.name != "sqlite":
        return
    drop(connection)
    connection.exec_driver_sql(CREATE_TABLE)
    for trigger in TRIGGERS:
        connection.exec_driver_sql(trigger)
    connection.exec_driver_sql(FILL)


def drop(connection):
    """Remove the table and its triggers (SQLite only)."""
    if connection.dialect.name != "sqlite":
        return
    for name in ("insert", "update", "delete"):
        connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS run_search_{name}")
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {TABLE}")


def _after_create(table, connection, **kw):
    create(connection)


def _before_drop(table, connection, **kw):
    drop(connection)


# create_all / drop_all (tests, first runs, the bench) build and remove it with the runs.
sa.event.listen(OperationRun.__table__, "after_create", _after_create)
sa.event.listen(OperationRun.__table__, "before_drop", _before_drop)
