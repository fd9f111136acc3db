"""The write side of runs: ``run_store()`` is the RunStore of the session's database.

``base.RunStore`` is the interface; ``postgresql`` and ``sqlite`` implement it (one
statement per change and per batch on PostgreSQL; the same rules in a few statements
on SQLite); ``rules`` holds the SQL of the rules both share.
"""

from app.extensions import db
from app.operations.store.base import BULK_ROWS, Report, RunStore
from app.operations.store.postgresql import NOTIFY_CHANNEL, PostgresRunStore
from app.operations.store.sqlite import SqliteRunStore

STORES = {store.dialect: store for store in (PostgresRunStore(), SqliteRunStore())}

__all__ = ["BULK_ROWS", "NOTIFY_CHANNEL", "Report", "RunStore", "run_store", "store_for"]


def store_for(dialect):
    """The RunStore for a database dialect's name."""
    try:
        return STORES[dialect]
    except KeyError:
        raise LookupError(f"no RunStore for {dialect!r} databases") from None


def run_store():
    """The RunStore of the current session's database."""
    return store_for(db.session.get_bind().dialect.name)
