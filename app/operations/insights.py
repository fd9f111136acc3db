"""Duration insights of completed runs per operation type, read in SQL over a window.

Measures (seconds) come from successful runs only (a failed or reconciled run says little
about healthy durations): queue wait, run time and the longest heartbeat and progress
gaps each run keeps at report time. Percentiles are linear interpolation between the two
nearest ranks (PostgreSQL's ``percentile_cont``); SQLite has no such aggregate, so there
the ranks each percentile needs are picked by a window function and interpolated here,
by the same formula.
"""

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from app.models import OperationRun
from app.operations import get_policy
from app.operations.dialect import is_postgres
from app.operations.durations import seconds_between
from app.operations.freshness import HISTORY_MEASURES, _lit, exceeded_clause
from app.operations.reads import RunReads

PERCENTILES = (0.5, 0.9, 0.95, 0.99)
MEASURES = ("queue_wait", "run_time", "heartbeat_gap", "progress_gap")
RUNS = OperationRun


@dataclass(frozen=True)
class Distribution:
    """The percentiles (seconds) of ``n`` values; all None when ``n`` is 0."""

    n: int
    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    max: float | None = None


EMPTY = Distribution(0)


@dataclass(frozen=True)
class Window:
    """What the insights read: completed runs of ``scope`` (narrowed to a tenant and a
    type when given) that completed in the ``days`` before ``now``."""

    scope: object
    now: object
    days: int = 30
    tenant_id: int | None = None
    type: str | None = None

    @property
    def since(self):
        return self.now - timedelta(days=self.days)

    def where(self):
        clauses = [
            self.reads.where_visible(),
            RUNS.status == sa.literal_column("'completed'"),
            RUNS.completed_at >= sa.bindparam("since", type_=sa.DateTime),
            RUNS.completed_at <= sa.bindparam("until", type_=sa.DateTime),
        ]
        if self.tenant_id is not None:
            clauses.append(RUNS.tenant_id == self.tenant_id)
        if self.type is not None:
            clauses.append(RUNS.type == self.type)
        return sa.and_(*clauses)

    @property
    def reads(self):
        return RunReads(self.scope, get_policy(), self.now)

    def execute(self, query):
        """Run ``query`` (built over ``where``) through the read interface."""
        return self.reads.execute(query, since=self.since, until=self.now)


def measure(name):
    """(SQL seconds, the runs it is known for) of one measure."""
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


def distributions(window, name, keys=(RUNS.type,)):
    """{key values: Distribution} of measure ``name`` grouped by ``keys``."""
    seconds, known = measure(name)
    where = sa.and_(window.where(), known, seconds.is_not(None))
    if is_postgres():
        return _postgresql(seconds, where, keys, window)
    return _sqlite(seconds, where, keys, window)


def every_distribution(window, keys=(RUNS.type,)):
    """{measure: {key values: Distribution}} of every measure: on PostgreSQL one scan of
    the window (an aggregate per measure, each filtered to its runs)."""
    if not is_postgres():
        return {name: distributions(window, name, keys) for name in MEASURES}
    columns = []
    for name in MEASURES:
        seconds, known = measure(name)
        known = sa.and_(known, seconds.is_not(None))
        columns += [
            sa.func.count(seconds).filter(known),
            _ranks(seconds).filter(known),
            sa.func.max(seconds).filter(known),
        ]
    query = sa.select(*keys, *columns).where(window.where()).group_by(*keys)
    found = {name: {} for name in MEASURES}
    for row in window.execute(query):
        key, values = tuple(row[: len(keys)]), row[len(keys) :]
        for i, name in enumerate(MEASURES):
            n, ranks, top = values[3 * i : 3 * i + 3]
            if n:
                found[name][key] = Distribution(int(n), *ranks, top)
    return found


def _ranks(seconds):
    return sa.func.percentile_cont(
        postgresql.array([sa.literal(p, sa.Float) for p in PERCENTILES]),
        type_=postgresql.ARRAY(sa.Float),
    ).within_group(seconds)


def _postgresql(seconds, where, keys, window):
    query = (
        sa.select(*keys, sa.func.count(), _ranks(seconds), sa.func.max(seconds))
        .where(where)
        .group_by(*keys)
    )
    found = {}
    for row in window.execute(query):
        *key, n, values, top = row
        found[tuple(key)] = Distribution(int(n), *values, top)
    return found


def _sqlite(seconds, where, keys, window):
    inner = sa.select(
        *(key.label(f"k{i}") for i, key in enumerate(keys)),
        seconds.label("x"),
        (sa.func.row_number().over(partition_by=keys, order_by=seconds) - 1).label("rn"),
        sa.func.count().over(partition_by=keys).label("n"),
    ).where(where)
    inner = inner.subquery()
    picks = [inner.c.rn == inner.c.n - 1]
    for p in PERCENTILES:
        low = sa.cast(sa.literal(p, sa.Float) * (inner.c.n - 1), sa.Integer)
        picks += [inner.c.rn == low, inner.c.rn == low + 1]
    key_columns = [inner.c[f"k{i}"] for i in range(len(keys))]
    query = sa.select(*key_columns, inner.c.n, inner.c.rn, inner.c.x).where(sa.or_(*picks))
    ranked = {}
    for row in window.execute(query):
        key, n, rank, value = tuple(row[: len(keys)]), row[-3], row[-2], row[-1]
        ranked.setdefault(key, (n, {}))[1][rank] = value
    return {key: interpolated(n, values) for key, (n, values) in ranked.items()}


def interpolated(n, by_rank):
    """The Distribution of ``n`` sorted values of which ``by_rank`` holds (at least) the
    ranks each percentile needs: ``percentile_cont``'s formula."""
    found = []
    for p in PERCENTILES:
        position = p * (n - 1)
        low = int(position)
        value = by_rank[low]
        if position > low:
            value += (by_rank[low + 1] - value) * (position - low)
        found.append(value)
    return Distribution(n, *found, by_rank[n - 1])


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


@dataclass(frozen=True)
class Counts:
    """Completed runs of one type in the window, by outcome, and what they say about the
    configured windows: ``false_alarms[key]`` successful runs passed window ``key`` (were
    shown likely stale), ``any_false_alarm`` passed at least one."""

    outcomes: dict
    reconciled: int
    gaps_known: int
    false_alarms: dict
    any_false_alarm: int

    @property
    def completed(self):
        return sum(self.outcomes.values())

    @property
    def succeeded(self):
        return self.outcomes.get("succeeded", 0)


OUTCOME_NAMES = ("succeeded", "partially_succeeded", "failed", "cancelled")


def counts(window, policy):
    """{type: Counts} of the window's completed runs."""
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
    query = sa.select(RUNS.type, *columns).where(window.where()).group_by(RUNS.type)
    found = {}
    for row in window.execute(query):
        values = [int(v) for v in row[1:]]
        outcomes = dict(zip(OUTCOME_NAMES, values[:4], strict=True))
        alarms = dict(zip(HISTORY_MEASURES, values[6:10], strict=True))
        found[row[0]] = Counts(outcomes, values[4], values[5], alarms, values[10])
    return found
