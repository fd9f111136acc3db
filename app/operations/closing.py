"""Closing runs for the reconciler: one run or a batch, each only if still due."""

import json

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from app.extensions import db
from app.models import OperationRun
from app.operations.bulk import relation
from app.operations.freshness import instant, reconcile_due_clause
from app.operations.trail import event, events_at, is_postgres, record_change, record_changes


def reconcile_run(run, *, policy, now, reason, message, pass_id):
    """Close ``run`` as failed if it is still due for reconciliation; does not commit.

    The UPDATE re-checks the shared SQL truth, so a run that reported in the meantime,
    or that another pass already closed, is left alone. Returns whether it was closed.
    """
    result = db.session.execute(
        sa.update(OperationRun)
        .where(OperationRun.id == run.id, reconcile_due_clause(policy))
        .values(
            status="completed",
            outcome="failed",
            completed_at=now,
            reconciled_at=now,
            reconciliation_reason=reason,
            reconciliation_message=message,
            failure_message=message,
            event_count=OperationRun.event_count + 1,
        )
        .execution_options(synchronize_session=False),
        instant(policy, now),
    )
    if result.rowcount != 1:
        return False
    event(run.id, "reconciled", now, "reconciler", _words(reason, message, pass_id))
    record_change(run, now)
    return True


def reconcile_runs(closures, *, policy, now, pass_id):
    """Close many runs at once, each only if it is still due; does not commit.

    ``closures`` is a list of (run, reason, message); a run is anything with ``id``,
    ``workspace_id`` and ``tenant_id``. One UPDATE closes the listed runs that the shared
    SQL truth, checked on the updated row itself, still says are due, writes each its own
    words, and returns the ids it closed; only those get a ``reconciled`` event and a
    change-feed row (one INSERT each). Returns the closed ids.
    """
    if not closures:
        return []
    by_id = {run.id: (run, reason, message) for run, reason, message in closures}
    runs = OperationRun.__table__
    where, reason, message = _listed_with_words(runs, by_id)
    closed = db.session.scalars(
        sa.update(runs)
        .where(*where, reconcile_due_clause(policy))
        .values(
            status="completed",
            outcome="failed",
            completed_at=now,
            reconciled_at=now,
            reconciliation_reason=reason,
            reconciliation_message=message,
            failure_message=message,
            event_count=runs.c.event_count + 1,
        )
        .returning(runs.c.id),
        instant(policy, now),
    ).all()
    if not closed:
        return []
    events_at(
        [
            (i, "reconciled", "reconciler", _words(by_id[i][1], by_id[i][2], pass_id))
            for i in closed
        ],
        now,
    )
    record_changes([by_id[i][0] for i in closed], now)
    return closed


def _listed_with_words(runs, by_id):
    """(WHERE picking the listed runs, reason and message expressions) for the batch UPDATE.

    SQLite joins the words as a bound relation (see ``bulk``). PostgreSQL picks the runs
    by id and looks each run's words up in one JSON document: a join there can be planned
    as a rescan of the whole list per due run when statistics underestimate a fresh
    backlog (12 s for 10k runs), and the due check must stay on the updated row itself so
    that a concurrent pass re-checks the row it waited for.
    """
    if not is_postgres():
        closing = relation(
            "closing",
            [
                ("id", sa.Integer),
                ("reason", runs.c.reconciliation_reason.type),
                ("message", sa.Text),
            ],
            [(i, reason, message) for i, (_run, reason, message) in by_id.items()],
        )
        return (runs.c.id == closing.c.id,), closing.c.reason, closing.c.message
    document = {str(i): [reason, message] for i, (_run, reason, message) in by_id.items()}
    words = (
        sa.select(
            sa.cast(sa.bindparam("words", json.dumps(document)), postgresql.JSONB).label("doc")
        )
        .cte("words")
        .prefix_with("MATERIALIZED")
    )

    def word(index):
        entry = words.c.doc.op("->")(sa.cast(runs.c.id, sa.Text))
        return sa.select(entry.op("->>")(index)).scalar_subquery()

    # The id range as well as the list: an index range scan whatever the statistics say
    # (with a fresh backlog the planner otherwise reads every active run per batch).
    listed = (runs.c.id.in_(list(by_id)), runs.c.id.between(min(by_id), max(by_id)))
    return listed, word(0), word(1)


def _words(reason, message, pass_id):
    return {"reason": reason, "message": message, "pass_id": pass_id}
