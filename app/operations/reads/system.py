"""The statements of reads across every workspace: the reconciler's candidates, metrics
and time-only notifications. Private to ``app.operations.reads``. Runs come back as the
read model (``with_tenant``), in id order."""

from functools import lru_cache

import sqlalchemy as sa

from app.models import NotificationChannel, NotificationEvent, OperationRun
from app.operations import freshness as fr
from app.operations.reads.binds import fixed, with_tenant

RUNS = OperationRun.__table__
EVENTS = NotificationEvent.__table__
# Literal, as in the partial indexes' predicates, so the planners match them.
TRUE = sa.literal_column("true")
# Runs in watched workspaces with no open "stale" event.
UNANNOUNCED = (
    RUNS.c.workspace_id.in_(
        sa.select(NotificationChannel.workspace_id).where(NotificationChannel.enabled.is_(True))
    ),
    ~sa.exists().where(
        EVENTS.c.run_id == RUNS.c.id, EVENTS.c.kind == "stale", EVENTS.c.open == TRUE
    ),
)


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
    if lock_rows:
        query = query.with_for_update(skip_locked=True)
    return _by_id(query)


def _by_id(runs):
    """``runs`` (ordered and limited) as read-model rows, in id order."""
    joined, page = with_tenant(runs)
    return joined.order_by(page.c.id)


@lru_cache(maxsize=16)
def first_due_query(policy):
    """Any run due at all (nothing locked)."""
    return sa.select(RUNS.c.id).where(fr.reconcile_due_clause(policy)).limit(fixed(1))


@lru_cache(maxsize=16)
def unannounced_stale_query(policy, batch):
    """Likely stale runs after ``:last_id`` in id order, in watched workspaces, with no
    open "stale" notification event."""
    return _by_id(
        sa.select(RUNS)
        .where(fr.likely_stale_clause(policy), *UNANNOUNCED, _after_last_id())
        .order_by(RUNS.c.id)
        .limit(fixed(batch))
    )


@lru_cache(maxsize=16)
def recovered_query(policy, batch):
    """Open "stale" notification events whose run is no longer likely stale, in event id
    order, with what their run last did."""
    return (
        sa.select(
            EVENTS.c.id,
            EVENTS.c.workspace_id,
            EVENTS.c.tenant_id,
            EVENTS.c.run_id,
            RUNS.c.outcome,
            RUNS.c.completed_at,
            RUNS.c.last_heartbeat_at,
            EVENTS.c.transition_at,
        )
        .select_from(EVENTS.join(RUNS, RUNS.c.id == EVENTS.c.run_id))
        .where(
            EVENTS.c.kind == "stale",
            EVENTS.c.open == TRUE,
            sa.not_(fr.likely_stale_clause(policy)),
        )
        .order_by(EVENTS.c.id)
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
RUNS_IN = _by_id(
    sa.select(RUNS).where(
        RUNS.c.workspace_id.in_(sa.bindparam("workspace_ids", expanding=True, required=True))
    )
)
RUNS_BY_ID = _by_id(
    sa.select(RUNS).where(RUNS.c.id.in_(sa.bindparam("run_ids", expanding=True, required=True)))
)
WORKSPACES_OF = (
    sa.select(RUNS.c.workspace_id)
    .where(RUNS.c.id.in_(sa.bindparam("run_ids", expanding=True, required=True)))
    .distinct()
)
