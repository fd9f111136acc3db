"""The trail of a run change: its timeline events and its change-feed rows."""

from app.extensions import db
from app.models import RunChange, RunEvent
from app.operations.bulk import insert_rows
from app.operations.statements import EVENT_INSERT, FEED_AND_WAKE, FEED_INSERT, with_wake


def is_postgres():
    """Whether the session's database is PostgreSQL."""
    return db.session.get_bind().dialect.name == "postgresql"


def event(run_id, kind, at, actor, data=None):
    """Append one timeline event."""
    insert_events([(run_id, kind, at, actor, data or None)])


def insert_events(rows):
    """Append timeline events, (run_id, kind, at, actor, data) each, in one statement."""
    db.session.execute(
        EVENT_INSERT, [dict(run_id=r, kind=k, at=t, actor=a, data=d) for r, k, t, a, d in rows]
    )


def events_at(rows, at):
    """Append many timeline events, (run_id, kind, actor, data) each, all at ``at``."""
    if len(rows) < BULK_ROWS:
        insert_events([(r, k, at, a, d) for r, k, a, d in rows])
        return
    db.session.execute(
        insert_rows(RunEvent.__table__, ("run_id", "kind", "actor", "data"), rows, at=at)
    )


def record_change(run, at):
    """Append to the change feed (and wake other processes on PostgreSQL)."""
    record_changes([run], at)


def record_changes(runs, at):
    """Append one change-feed row per run; on PostgreSQL also wake other processes.

    On PostgreSQL the NOTIFY rides in the same statement as the INSERT (a data-modifying
    CTE): one wake-up per workspace, naming its last run, delivered on commit.
    """
    postgres = is_postgres()
    if len(runs) == 1:
        run = runs[0]
        row = dict(run_id=run.id, workspace_id=run.workspace_id, tenant_id=run.tenant_id, at=at)
        db.session.execute(FEED_AND_WAKE if postgres else FEED_INSERT, row)
        return
    feed = insert_rows(
        RunChange.__table__,
        ("run_id", "workspace_id", "tenant_id"),
        [(r.id, r.workspace_id, r.tenant_id) for r in runs],
        at=at,
    )
    db.session.execute(with_wake(feed) if postgres else feed)


# The hot path (one API call, one or two rows) uses plain statements built once (see
# ``statements``); from this many rows on, a bound relation is cheaper.
BULK_ROWS = 10
