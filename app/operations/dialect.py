"""Which database the session talks to, for the few reads whose SQL differs by database
(writes choose their RunStore instead, see ``operations.store``)."""

from app.extensions import db


def is_postgres():
    """Whether the session's database is PostgreSQL."""
    return db.session.get_bind().dialect.name == "postgresql"
