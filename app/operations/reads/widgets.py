"""The statements behind the dashboard widgets, built once per shape. Private to
``app.operations.reads``: a widget's values are the scope's, the instant's and ``tenant_id``."""

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import sqlalchemy as sa

from app.models import OperationRun, Tenant
from app.operations import freshness as fr
from app.operations.reads.binds import fixed, visible, with_tenant

DAY = 86400


def _earliest(a, b):
    return b if a is None else a if b is None else min(a, b)


@dataclass(frozen=True)
class Activity:
    """Counts for one tenant (or the workspace-level runs, or a total).

    ``follow_up_first_at`` / ``follow_up_24h_first_at``: when the earliest of the runs that
    ``follow_up`` / ``follow_up_24h`` count completed (None: none counted). Time alone moves
    it out of its window: the instant a live page's counts change without any report."""

    active: int = 0
    past_expected: int = 0
    likely_stale: int = 0
    follow_up: int = 0
    follow_up_24h: int = 0
    follow_up_first_at: datetime | None = None
    follow_up_24h_first_at: datetime | None = None

    def __add__(self, other):
        return Activity(
            self.active + other.active,
            self.past_expected + other.past_expected,
            self.likely_stale + other.likely_stale,
            self.follow_up + other.follow_up,
            self.follow_up_24h + other.follow_up_24h,
            _earliest(self.follow_up_first_at, other.follow_up_first_at),
            _earliest(self.follow_up_24h_first_at, other.follow_up_24h_first_at),
        )


@dataclass(frozen=True)
class TypeSummary:
    """Runs of one type created in the summary window."""

    type: str
    total: int
    succeeded: int
    partially_succeeded: int
    failed: int
    cancelled: int
    reconciled: int
    active: int
    likely_stale: int


def _count_if(clause, name):
    return sa.func.coalesce(sa.func.sum(sa.case((clause, 1), else_=0)), 0).label(name)


def _of_tenant():
    return OperationRun.tenant_id == sa.bindparam("tenant_id", type_=sa.Integer, required=True)


@lru_cache(maxsize=64)
def activity_queries(policy, scope_shape, one_tenant):
    """(active counts, follow-up counts) grouped by tenant: one statement per partial index
    (an OR of the two would scan the whole table); ``:day_ago`` bounds the 24 h count."""
    where = [visible(scope_shape), *([_of_tenant()] if one_tenant else [])]
    active = (
        sa.select(
            OperationRun.tenant_id,
            sa.func.count().label("active"),
            _count_if(fr.past_expected_clause(policy), "past_expected"),
            _count_if(fr.likely_stale_clause(policy), "likely_stale"),
        )
        .where(*where, fr.active_clause())
        .group_by(OperationRun.tenant_id)
    )
    day_ago = sa.bindparam("day_ago", type_=sa.DateTime, required=True)
    recent = OperationRun.completed_at >= day_ago
    follow_up = (
        sa.select(
            OperationRun.tenant_id,
            sa.func.count().label("follow_up"),
            _count_if(recent, "follow_up_24h"),
            sa.func.min(OperationRun.completed_at).label("first_at"),
            sa.func.min(sa.case((recent, OperationRun.completed_at))).label("first_24h_at"),
        )
        .where(*where, fr.follow_up_clause(policy))
        .group_by(OperationRun.tenant_id)
    )
    return active, follow_up


def _newest_first(runs, column):
    inner = runs.order_by(column.desc(), OperationRun.id.desc())
    joined, page = with_tenant(inner)
    return joined.order_by(page.c[column.key].desc(), page.c.id.desc())


@lru_cache(maxsize=64)
def attention_queries(policy, scope_shape, limit):
    """(likely stale runs, follow-up runs) of ``:tenant_id``, newest first, ``limit`` each."""
    runs = OperationRun.__table__
    stale = (
        sa.select(runs)
        .where(visible(scope_shape), _of_tenant(), fr.likely_stale_clause(policy))
        .limit(fixed(limit))
    )
    follow = (
        sa.select(runs)
        .where(visible(scope_shape), _of_tenant(), fr.follow_up_clause(policy))
        .limit(fixed(limit))
    )
    return _newest_first(stale, runs.c.created_at), _newest_first(follow, runs.c.completed_at)


@lru_cache(maxsize=64)
def overlay_query(policy, scope_shape, limit):
    """Active runs of ``:tenant_id``: stale ones first, then late, then newest."""
    rank = sa.case(
        (fr.likely_stale_clause(policy), 0),
        (fr.past_expected_clause(policy), 1),
        else_=2,
    )
    runs = (
        sa.select(OperationRun.__table__, rank.label("rank"))
        .where(visible(scope_shape), _of_tenant(), fr.active_clause())
        .order_by(rank, OperationRun.created_at.desc(), OperationRun.id.desc())
        .limit(fixed(limit))
    )
    joined, page = with_tenant(runs)
    return joined.order_by(page.c.rank, page.c.created_at.desc(), page.c.id.desc())


@lru_cache(maxsize=64)
def type_summary_query(policy, scope_shape):
    """Per-type counts of ``:tenant_id``'s runs created since ``:since``."""
    outcome = OperationRun.outcome
    since = sa.bindparam("since", type_=sa.DateTime, required=True)
    return (
        sa.select(
            OperationRun.type,
            sa.func.count().label("total"),
            _count_if(outcome == "succeeded", "succeeded"),
            _count_if(outcome == "partially_succeeded", "partially_succeeded"),
            _count_if(outcome == "failed", "failed"),
            _count_if(outcome == "cancelled", "cancelled"),
            _count_if(fr.reconciled_clause(), "reconciled"),
            _count_if(fr.active_clause(), "active"),
            _count_if(fr.likely_stale_clause(policy), "likely_stale"),
        )
        .where(visible(scope_shape), _of_tenant(), OperationRun.created_at >= since)
        .group_by(OperationRun.type)
        .order_by(OperationRun.type)
    )


@lru_cache(maxsize=32)
def first_created_query(scope_shape, one_tenant):
    """When the earliest visible run created since ``:since`` (of ``:tenant_id``) was
    created: one index probe (``ix_runs_workspace_created`` or its per-tenant twin)."""
    since = sa.bindparam("since", type_=sa.DateTime, required=True)
    where = [visible(scope_shape), OperationRun.created_at >= since]
    return sa.select(sa.func.min(OperationRun.created_at)).where(
        *where, *([_of_tenant()] if one_tenant else [])
    )


@lru_cache(maxsize=16)
def last_reported_query(scope_shape):
    """When each of ``:tenant_ids`` last reported a visible run: one index probe each."""
    newest = (
        sa.select(OperationRun.created_at)
        .where(visible(scope_shape), OperationRun.tenant_id == Tenant.id)
        .order_by(OperationRun.created_at.desc())
        .limit(1)
        .correlate(Tenant)
        .scalar_subquery()
    )
    ids = sa.bindparam("tenant_ids", expanding=True, required=True)
    return sa.select(Tenant.id, newest).where(Tenant.id.in_(ids))
