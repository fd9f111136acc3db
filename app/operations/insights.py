"""Duration insights of completed runs per operation type, over a window of whole UTC days.

Measures (seconds) come from successful runs only (a failed or reconciled run says little
about healthy durations): queue wait, run time and the longest heartbeat and progress
gaps each run keeps at report time. Every figure is added up from Cells (see
``app.operations.rollup``): counts exactly, percentiles from 2 % log-scale buckets
(within one bucket of the exact value: linear interpolation between the two nearest
ranks, as PostgreSQL's ``percentile_cont``, of the ranks' bucket values), the maximum
exactly.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from app.models.insight_rollup import COUNT_COLUMNS
from app.operations.freshness import HISTORY_MEASURES
from app.operations.insight_cells import MEASURES, Cell
from app.operations.rollup import gather

PERCENTILES = (0.5, 0.9, 0.95, 0.99)
LOW = 0.01
OUTCOME_NAMES = COUNT_COLUMNS[:4]
__all__ = ["MEASURES", "Counts", "Distribution", "Window", "summarize"]


@dataclass(frozen=True)
class Distribution:
    """The percentiles (seconds) of ``n`` values; all None when ``n`` is 0."""

    n: int
    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    max: float | None = None
    p01: float | None = None  # the fastest 1 %: what a suggested running_min rests on


EMPTY = Distribution(0)


@dataclass(frozen=True)
class Window:
    """What the insights read: completed runs of ``scope`` (narrowed to a tenant and a
    type when given) that completed from 00:00 UTC of the day ``days`` before ``now``
    up to ``now``, both included."""

    scope: object
    now: object
    days: int = 30
    tenant_id: int | None = None
    type: str | None = None

    @property
    def since(self):
        return datetime.combine((self.now - timedelta(days=self.days)).date(), time())


def distribution(histogram):
    """The Distribution of a Histogram: percentiles of its buckets, its exact maximum."""
    n = histogram.n
    if not n:
        return EMPTY
    ranks = {n - 1}
    for p in (*PERCENTILES, LOW):
        low = int(p * (n - 1))
        ranks |= {low, min(low + 1, n - 1)}
    by_rank = histogram.ranked(ranks)
    by_rank[n - 1] = histogram.top
    return interpolated(n, by_rank)


def _at(p, n, by_rank):
    position = p * (n - 1)
    low = int(position)
    value = by_rank[low]
    if position > low:
        value += (by_rank[low + 1] - value) * (position - low)
    return value


def interpolated(n, by_rank):
    """The Distribution of ``n`` sorted values of which ``by_rank`` holds (at least) the
    ranks each percentile needs: ``percentile_cont``'s formula."""
    found = [_at(p, n, by_rank) for p in PERCENTILES]
    return Distribution(n, *found, by_rank[n - 1], _at(LOW, n, by_rank))


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


def counts_of(cell):
    """The Counts of a Cell."""
    values = cell.counts
    outcomes = dict(zip(OUTCOME_NAMES, values[:4], strict=True))
    alarms = dict(zip(HISTORY_MEASURES, values[6:10], strict=True))
    return Counts(outcomes, values[4], values[5], alarms, values[10])


@dataclass(frozen=True)
class Summary:
    """One type over the window: its Cell, Distribution per measure, and its days
    [(day "YYYY-MM-DD", Distribution of run time)]."""

    cell: Cell
    measures: dict
    daily: list

    @property
    def counts(self):
        return counts_of(self.cell)

    @property
    def run_times(self):
        return self.cell.measures["run_time"]


def summarize(window, policy):
    """{type: Summary} of every type with completed runs in ``window``."""
    by_type, days = {}, {}
    for (name, day), cell in gather(window, policy).items():
        days.setdefault(name, []).append((day.isoformat(), cell.measures["run_time"]))
        by_type.setdefault(name, []).append(cell)
    found = {}
    for name, cells in by_type.items():
        cell = Cell.total(cells)
        measures = {m: distribution(cell.measures[m]) for m in MEASURES}
        daily = [(day, distribution(h)) for day, h in sorted(days[name], key=lambda d: d[0]) if h.n]
        found[name] = Summary(cell, measures, daily)
    return found


NO_SUMMARY = Summary(Cell(), dict.fromkeys(MEASURES, EMPTY), [])
