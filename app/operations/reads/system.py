"""The statements of reads across every workspace: the reconciler's candidates, metrics
and time-only notifications. Private to ``app.operations.reads``."""

from functools import lru_cache

import sqlalchemy as sa

from app.models import OperationRun
from app.operations import freshness as fr
from app.operations.reads.binds import fixed

RUNS = OperationRun.__table__


def _after_last_id():
    return RUNS.c.id > sa.bindparam("last_id", type_=sa.Integer, required=True)


@lru_cache(maxsize=16)
def due_batch_query(policy, batch_size, lock_rows):
    """The reconciler's next due runs after ``:last_id`` in id order (the freshness SQL is
    large: built once); locked ``FOR UPDATE SKIP LOCKED`` when ``lock_rows``."""
    query = (
        sa.select(RUNS)
        .where(fr.reconcile_due_clause(policy), _after_last_id())
        .order_by(RUNS.c.id)
        .limit(fixed(batch_size))
    )
    return query.with_for_update(skip_locked=True) if lock_rows else query


@lru_cache(maxsize=16)
def first_due_query(policy):
    """Any run due at all (nothing locked)."""
    return sa.select(RUNS.c.id).where(fr.reconcile_due_clause(policy)).limit(fixed(1))


@lru_cache(maxsize=16)
def stale_batch_query(policy, batch, where):
    """Likely stale runs after ``:last_id`` in id order that also match ``where`` (SQL of
    the caller's own tables, holding no run bind parameter)."""
    return (
        sa.select(RUNS)
        .where(fr.likely_stale_clause(policy), *where, _after_last_id())
        .order_by(RUNS.c.id)
        .limit(fixed(batch))
    )


@lru_cache(maxsize=16)
def not_stale_query(policy, columns, join, where, order, batch):
    """``columns`` of rows of another table joined (``join``) to runs that are not likely
    stale, matching ``where``, in ``order``, up to ``batch``."""
    return (
        sa.select(*columns)
        .select_from(join)
        .where(*where, sa.not_(fr.likely_stale_clause(policy)))
        .order_by(*order)
        .limit(fixed(batch))
    )


@lru_cache(maxsize=16)
def active_by_freshness_query(policy):
    """How many active runs are in each freshness state."""
    state = fr.freshness_case(policy).label("state")
    return sa.select(state, sa.func.count()).where(fr.active_clause()).group_by(state)


RECONCILED_BY_REASON = (
    sa.select(RUNS.c.reconciliation_reason, sa.func.count())
    .where(RUNS.c.reconciled_at.is_not(None))
    .group_by(RUNS.c.reconciliation_reason)
)
RUNS_IN = sa.select(RUNS).where(
    RUNS.c.workspace_id.in_(sa.bindparam("workspace_ids", expanding=True, required=True))
)
WORKSPACES_OF = (
    sa.select(RUNS.c.workspace_id)
    .where(RUNS.c.id.in_(sa.bindparam("run_ids", expanding=True, required=True)))
    .distinct()
)
