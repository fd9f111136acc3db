"""Queries behind the dashboard widgets, all through a Scope and the SQL freshness truth."""

from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

import sqlalchemy as sa

from app.extensions import db
from app.models import OperationRun, Tenant
from app.models.runs import run_records
from app.operations import freshness as fr
from app.operations.queries import fixed
from app.operations.visibility import Scope

DAY = 86400


@dataclass(frozen=True)
class Activity:
    """Counts for one tenant (or the workspace-level runs, or a total)."""

    active: int = 0
    past_expected: int = 0
    likely_stale: int = 0
    follow_up: int = 0
    follow_up_24h: int = 0

    def __add__(self, other):
        return Activity(
            self.active + other.active,
            self.past_expected + other.past_expected,
            self.likely_stale + other.likely_stale,
            self.follow_up + other.follow_up,
            self.follow_up_24h + other.follow_up_24h,
        )


def _count_if(clause, name):
    return sa.func.coalesce(sa.func.sum(sa.case((clause, 1), else_=0)), 0).label(name)


def activity_by_tenant(scope, *, policy, now, tenant_id=None):
    """{tenant_id or None: Activity} over visible runs: one grouped query per index.

    Active runs come from the partial index on active runs, follow-ups from the partial
    index on failed/partial outcomes; an OR of the two would scan the whole table.
    Tenants without active or follow-up runs are absent; ``tenant_id`` narrows to one tenant.
    """
    active, follow_up = _activity_queries(policy, scope.shape, tenant_id is not None)
    params = {
        **scope.params,
        **fr.instant(policy, now),
        "tenant_id": tenant_id,
        "day_ago": now - timedelta(seconds=DAY),
    }
    found = {}
    for tenant, count, past, stale in db.session.execute(active, params):
        found[tenant] = Activity(active=count, past_expected=int(past), likely_stale=int(stale))
    for tenant, count, recent in db.session.execute(follow_up, params):
        found[tenant] = found.get(tenant, Activity()) + Activity(
            follow_up=count, follow_up_24h=int(recent)
        )
    return found


def _tenant_param():
    return sa.bindparam("tenant_id", type_=sa.Integer, required=True)


def _visible(scope_shape, *where):
    return [Scope.bound_run_filter(scope_shape), *where]


@lru_cache(maxsize=64)
def _activity_queries(policy, scope_shape, one_tenant):
    where = _visible(
        scope_shape, *([OperationRun.tenant_id == _tenant_param()] if one_tenant else [])
    )
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
    follow_up = (
        sa.select(
            OperationRun.tenant_id,
            sa.func.count().label("follow_up"),
            _count_if(OperationRun.completed_at >= day_ago, "follow_up_24h"),
        )
        .where(*where, fr.follow_up_clause(policy))
        .group_by(OperationRun.tenant_id)
    )
    return active, follow_up


def tenant_activity(scope, tenant_id, *, policy, now):
    """The Activity of one visible tenant."""
    found = activity_by_tenant(scope, policy=policy, now=now, tenant_id=tenant_id)
    return found.get(tenant_id, Activity())


def attention_runs(scope, tenant_id, *, policy, now, limit=5):
    """(likely stale runs, follow-up runs) of a tenant, newest first, ``limit`` each, as
    plain rows (the widgets name the tenant they belong to)."""
    stale, follow = _attention_queries(policy, scope.shape, limit)
    params = {**scope.params, **fr.instant(policy, now), "tenant_id": tenant_id}
    return (
        run_records(db.session.execute(stale, params)),
        run_records(db.session.execute(follow, params)),
    )


@lru_cache(maxsize=64)
def _attention_queries(policy, scope_shape, limit):
    of_tenant = OperationRun.tenant_id == _tenant_param()
    stale = (
        sa.select(OperationRun.__table__)
        .where(*_visible(scope_shape, of_tenant, fr.likely_stale_clause(policy)))
        .order_by(OperationRun.created_at.desc(), OperationRun.id.desc())
        .limit(fixed(limit))
    )
    follow = (
        sa.select(OperationRun.__table__)
        .where(*_visible(scope_shape, of_tenant, fr.follow_up_clause(policy)))
        .order_by(OperationRun.completed_at.desc(), OperationRun.id.desc())
        .limit(fixed(limit))
    )
    return stale, follow


def overlay_runs(scope, tenant_id, *, policy, now, limit=8):
    """Active runs of a tenant (plain rows), stale ones first, then late, then newest."""
    params = {**scope.params, **fr.instant(policy, now), "tenant_id": tenant_id}
    return run_records(db.session.execute(_overlay_query(policy, scope.shape, limit), params))


@lru_cache(maxsize=64)
def _overlay_query(policy, scope_shape, limit):
    rank = sa.case(
        (fr.likely_stale_clause(policy), 0),
        (fr.past_expected_clause(policy), 1),
        else_=2,
    )
    of_tenant = OperationRun.tenant_id == _tenant_param()
    return (
        sa.select(OperationRun.__table__)
        .where(*_visible(scope_shape, of_tenant, fr.active_clause()))
        .order_by(rank, OperationRun.created_at.desc(), OperationRun.id.desc())
        .limit(fixed(limit))
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


def type_summary(scope, tenant_id, *, policy, now, days=7):
    """Per-type counts of a tenant's runs created in the last ``days``, grouped in SQL."""
    params = {
        **scope.params,
        **fr.instant(policy, now),
        "tenant_id": tenant_id,
        "since": now - timedelta(days=days),
    }
    rows = db.session.execute(_type_summary_query(policy, scope.shape), params)
    return [TypeSummary(row[0], *(int(v) for v in row[1:])) for row in rows]


@lru_cache(maxsize=64)
def _type_summary_query(policy, scope_shape):
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
        .where(
            *_visible(scope_shape, OperationRun.tenant_id == _tenant_param()),
            OperationRun.created_at >= since,
        )
        .group_by(OperationRun.type)
        .order_by(OperationRun.type)
    )


def last_reported(scope, tenant_ids):
    """{tenant_id: when its newest visible run was reported} for ``tenant_ids``; tenants
    that never reported a run are absent. One index probe per tenant (newest first)."""
    ids = list(tenant_ids)
    if not ids:
        return {}
    params = {**scope.params, "tenant_ids": ids}
    rows = db.session.execute(_last_reported_query(scope.shape), params)
    return {tenant_id: at for tenant_id, at in rows if at is not None}


@lru_cache(maxsize=16)
def _last_reported_query(scope_shape):
    newest = (
        sa.select(OperationRun.created_at)
        .where(
            Scope.bound_run_filter(scope_shape),
            OperationRun.tenant_id == Tenant.id,
        )
        .order_by(OperationRun.created_at.desc())
        .limit(1)
        .correlate(Tenant)
        .scalar_subquery()
    )
    ids = sa.bindparam("tenant_ids", expanding=True, required=True)
    return sa.select(Tenant.id, newest).where(Tenant.id.in_(ids))
