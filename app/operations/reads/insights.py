"""The statements of the insights: the completed runs of a time range, aggregated per
workspace, tenant, operation type and UTC day of completion (what the rollup keeps and
what a page adds for the runs the rollup does not hold yet). Private to
``app.operations.reads``."""

from functools import lru_cache
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from app.models import OperationRun
from app.operations.buckets import bucket_sql
from app.operations.durations import seconds_between
from app.operations.freshness import (
    HISTORY_MEASURES,
    _lit,
    exceeded_clause,
    last_sign,
    stale_after_sign,
)
from app.operations.reads.binds import visible

RUNS = OperationRun
MEASURES = ("queue_wait", "run_time", "heartbeat_gap", "progress_gap")
OUTCOME_NAMES = ("succeeded", "partially_succeeded", "failed", "cancelled")


class Narrow(NamedTuple):
    """Which runs of the range: ``shape`` of the viewer's scope (None: every workspace),
    one tenant (``:narrow_tenant_id``) or not, one type or all, and whether the range
    includes its end (a page's "up to now") or not (a rolled day)."""

    shape: str | None = None
    tenant: bool = False
    type: str | None = None
    inclusive: bool = False


def measure(name):
    """(SQL seconds, the runs it is known for) of one measure: successful runs only."""
    succeeded = sa.and_(
        RUNS.outcome == sa.literal_column("'succeeded'"), RUNS.started_at.is_not(None)
    )
    if name == "queue_wait":
        return seconds_between(RUNS.started_at, RUNS.created_at), succeeded
    if name == "run_time":
        return seconds_between(RUNS.completed_at, RUNS.started_at), succeeded
    if name == "heartbeat_gap":  # runs that sent heartbeats, with gaps kept (0010)
        known = sa.and_(RUNS.last_heartbeat_at.is_not(None), RUNS.heartbeat_gap_max.is_not(None))
        return RUNS.heartbeat_gap_max, sa.and_(succeeded, known)
    if name == "progress_gap":  # runs that reported progress
        known = sa.and_(RUNS.processed.is_not(None), RUNS.progress_gap_max.is_not(None))
        return RUNS.progress_gap_max, sa.and_(succeeded, known)
    raise ValueError(f"unknown measure {name!r}")


class utc_day(FunctionElement):  # noqa: N801 (an SQL function, named like one)
    """SQL: the day of a stored (UTC) instant; compiled per database, so a cached
    statement serves both."""

    type = sa.Date()
    inherit_cache = True
    name = "utc_day"


@compiles(utc_day, "postgresql")
def _postgresql_day(element, compiler, **kw):
    return f"CAST({compiler.process(element.clauses, **kw)} AS DATE)"


@compiles(utc_day)
def _sqlite_day(element, compiler, **kw):
    return f"date({compiler.process(element.clauses, **kw)})"


def _keys():
    return (RUNS.workspace_id, RUNS.tenant_id, RUNS.type, utc_day(RUNS.completed_at))


def _where(narrow):
    since = RUNS.completed_at >= sa.bindparam("range_from", type_=sa.DateTime, required=True)
    end = sa.bindparam("range_until", type_=sa.DateTime, required=True)
    clauses = [
        RUNS.status == sa.literal_column("'completed'"),
        since,
        RUNS.completed_at <= end if narrow.inclusive else RUNS.completed_at < end,
    ]
    if narrow.shape is not None:
        clauses.append(visible(narrow.shape))
    if narrow.tenant:
        clauses.append(RUNS.tenant_id == sa.bindparam("narrow_tenant_id", type_=sa.Integer))
    if narrow.type is not None:
        clauses.append(RUNS.type == _lit(narrow.type)[0])
    return sa.and_(*clauses)


def _limit(policy, key):
    """SQL: the window ``key`` of each run's type (NULL where that check is off)."""
    whens = [
        (RUNS.type == _lit(name)[0], getattr(policy.types[name], key)) for name in policy.names()
    ]
    whens = [(when, sa.literal(value)) for when, value in whens if value is not None]
    fallback = getattr(policy.for_type("\0unconfigured"), key)
    otherwise = sa.null() if fallback is None else sa.literal(fallback)
    if not whens:
        return otherwise
    return sa.case(*whens, else_=otherwise)


def _count_if(clause):
    return sa.func.coalesce(sa.func.sum(sa.case((clause, 1), else_=0)), 0)


def _sum_if(clause, value):
    return sa.func.coalesce(sa.func.sum(sa.case((clause, value), else_=0.0)), 0.0)


@lru_cache(maxsize=32)
def counts_query(policy, narrow):
    """Per key: runs by outcome, reconciled, successful with gaps known, successful runs
    past each history window of ``policy`` (exact, as the one truth's rule), past any;
    then of the reconciled runs: how many, and the sums of the seconds from each one's
    last sign of life until the one truth showed it likely stale and until it was closed."""
    succeeded = RUNS.outcome == sa.literal_column("'succeeded'")
    tripped = []
    for key, name in HISTORY_MEASURES.items():
        seconds, known = measure(name)
        tripped.append(sa.and_(known, exceeded_clause(seconds, _limit(policy, key))))
    columns = [_count_if(RUNS.outcome == _lit(o)[0]) for o in OUTCOME_NAMES]
    columns += [
        _count_if(RUNS.reconciled_at.is_not(None)),
        _count_if(sa.and_(succeeded, RUNS.heartbeat_gap_max.is_not(None))),
        *(_count_if(clause) for clause in tripped),
        _count_if(sa.or_(*tripped)),
    ]
    reconciled = RUNS.reconciled_at.is_not(None)
    columns += [
        _count_if(reconciled),
        _sum_if(reconciled, stale_after_sign(policy)),
        _sum_if(reconciled, seconds_between(RUNS.reconciled_at, last_sign())),
    ]
    keys = _keys()
    return sa.select(*keys, *columns).where(_where(narrow)).group_by(*keys)


@lru_cache(maxsize=32)
def buckets_query(narrow):
    """Per key and measure (its index in MEASURES): runs per bucket, and their maximum."""
    parts, keys = [], _keys()
    for index, name in enumerate(MEASURES):
        seconds, known = measure(name)
        bucket = bucket_sql(seconds)
        parts.append(
            sa.select(
                sa.literal(index, sa.Integer), *keys, bucket, sa.func.count(), sa.func.max(seconds)
            )
            .where(_where(narrow), known, seconds.is_not(None))
            .group_by(*keys, bucket)
        )
    return sa.union_all(*parts)


def rows(execute, policy, narrow, values):
    """(counts rows, bucket rows) of the range in ``values``."""
    return (
        execute(counts_query(policy, narrow), **values).all(),
        execute(buckets_query(narrow), **values).all(),
    )


FIRST_COMPLETED = sa.select(sa.func.min(RUNS.completed_at)).where(RUNS.completed_at.is_not(None))


def completed_per_day_query():
    """How many runs completed per UTC day in ``[:range_from, :range_until)`` (read from
    the index of completion times alone)."""
    day = utc_day(RUNS.completed_at)
    since = RUNS.completed_at >= sa.bindparam("range_from", type_=sa.DateTime, required=True)
    until = RUNS.completed_at < sa.bindparam("range_until", type_=sa.DateTime, required=True)
    return sa.select(day, sa.func.count()).where(since, until).group_by(day)
