"""SQLite connection settings for a web process shared by request, relay and reconciler threads."""

import sqlalchemy as sa
from sqlalchemy.engine import Engine

_installed = False


def _on_connect(dbapi_connection, _record):
    if type(dbapi_connection).__module__.split(".")[0] not in ("sqlite3", "pysqlite2"):
        return
    cursor = dbapi_connection.cursor()
    # WAL lets readers (pages, the live relay) go on while one thread writes, and makes a
    # commit cheaper; a file database keeps the mode. In-memory databases ignore it.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def install():
    """Apply the settings to every new SQLite connection (idempotent, no I/O)."""
    global _installed
    if not _installed:
        sa.event.listen(Engine, "connect", _on_connect)
        _installed = True


def one_shared_connection(engine):
    """Whether every thread of ``engine`` uses one and the same connection (an in-memory
    SQLite database holds its data in that connection alone): such a connection serves one
    thread at a time, so work meant for several threads must run on one."""
    return isinstance(engine.pool, sa.pool.StaticPool)
