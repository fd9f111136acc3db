"""Everything the insights say about each operation type over one window, assembled.

Used by the insights page and by ``flask types suggest``: both show the same numbers.
"""

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from app.models.runs import RunRecord
from app.operations.dialect import is_postgres
from app.operations.freshness import HISTORY_MEASURES, _lit, upcoming_stale_at
from app.operations.insights import (
    EMPTY,
    MEASURES,
    RUNS,
    Counts,
    counts,
    distributions,
    every_distribution,
    measure,
)
from app.operations.suggestions import suggest

BUCKETS = 24
NOTICED_SAMPLE = 500  # reconciled runs read per type for "noticed after" (the newest)


@dataclass(frozen=True)
class Noticed:
    """Runs the reconciler closed: how long after their last sign of life they were shown
    likely stale, and closed (averages of ``runs`` runs, seconds)."""

    runs: int
    shown_after: float | None
    closed_after: float | None


@dataclass(frozen=True)
class TypeInsight:
    """One operation type over the window."""

    op_type: object
    counts: Counts
    measures: dict
    daily: list  # [(day "YYYY-MM-DD", Distribution of run time)]
    histogram: tuple  # (bucket width seconds, [count per bucket], overflow count)
    noticed: Noticed
    suggestions: list


NO_COUNTS = Counts({}, 0, 0, dict.fromkeys(HISTORY_MEASURES, 0), 0)


def type_insights(window, policy):
    """[TypeInsight] for every configured type (or ``window.type``) and every other type
    that has completed runs in the window, by name."""
    found = counts(window, policy)
    names = set(policy.names()) | set(found)
    if window.type is not None:
        names = {window.type}
    by_measure = every_distribution(window)
    daily = _daily(window)
    measures_of = {name: {m: by_measure[m].get((name,), EMPTY) for m in MEASURES} for name in names}
    widths = {
        name: bucket_width(policy.for_type(name), measures_of[name]["run_time"]) for name in names
    }
    bars = _histograms(window, {n: w for n, w in widths.items() if measures_of[n]["run_time"].n})
    result = []
    for name in sorted(names):
        op_type = policy.for_type(name)
        measures = measures_of[name]
        result.append(
            TypeInsight(
                op_type,
                found.get(name, NO_COUNTS),
                measures,
                daily.get(name, []),
                (widths[name], *bars.get(name, ([0] * BUCKETS, 0))),
                _noticed(window, name, policy),
                suggest(op_type, measures),
            )
        )
    return result


def _day(column):
    return sa.cast(column, sa.Date) if is_postgres() else sa.func.date(column)


def _daily(window):
    """{type: [(day, Distribution of run time)]} by the day runs completed (UTC)."""
    grouped = distributions(window, "run_time", keys=(RUNS.type, _day(RUNS.completed_at)))
    days = {}
    for (name, day), dist in grouped.items():
        days.setdefault(name, []).append((str(day)[:10], dist))
    return {name: sorted(rows, key=lambda row: row[0]) for name, rows in days.items()}


def bucket_width(op_type, run_time):
    """Seconds per histogram bucket: the axis reaches past p99 and the stale window."""
    reach = max(run_time.p99 or 0, op_type.running_stale) * 1.05
    return max(reach / BUCKETS, 1e-6)


def _histograms(window, widths):
    """{type: ([count per bucket], overflow)} of run times, every type in one query;
    ``widths`` is {type: seconds per bucket}."""
    if not widths:
        return {}
    seconds, known = measure("run_time")
    width = sa.case(
        *((RUNS.type == _lit(name)[0], sa.literal(w, sa.Float)) for name, w in widths.items()),
    )
    ratio = seconds / width
    index = sa.func.floor(ratio) if is_postgres() else sa.cast(ratio, sa.Integer)
    bucket = sa.case((ratio >= BUCKETS, BUCKETS), else_=index)
    query = (
        sa.select(RUNS.type, bucket, sa.func.count())
        .where(window.where(), known, RUNS.type.in_(_lit(*widths)), seconds >= 0)
        .group_by(RUNS.type, bucket)
    )
    bars = {name: [0] * (BUCKETS + 1) for name in widths}
    for name, index_value, n in window.execute(query):
        bars[name][min(int(index_value), BUCKETS)] += int(n)
    return {name: (counts[:BUCKETS], counts[BUCKETS]) for name, counts in bars.items()}


def _noticed(window, name, policy):
    """The newest reconciled runs of type ``name``: when the one truth says they became
    likely stale, and when they were closed, after their last sign of life."""
    query = (
        sa.select(*RUNS.__table__.c)
        .where(window.where(), RUNS.type == name, RUNS.reconciled_at.is_not(None))
        .order_by(RUNS.completed_at.desc())
        .limit(NOTICED_SAMPLE)
    )
    shown, closed = [], []
    for row in window.execute(query):
        run = RunRecord._make(row)
        last_sign = run.last_heartbeat_at or run.started_at or run.created_at
        active = run._replace(status="running" if run.started_at else "queued")
        stale_at = upcoming_stale_at(active, policy)
        shown.append((stale_at - last_sign) / timedelta(seconds=1))
        closed.append((run.reconciled_at - last_sign) / timedelta(seconds=1))
    if not shown:
        return Noticed(0, None, None)
    return Noticed(len(shown), sum(shown) / len(shown), sum(closed) / len(closed))


WINDOW_PATTERN = r"^([1-9][0-9]{0,2})d$"
MAX_WINDOW_DAYS = 366


def parse_window(text):
    """Days of a window written ``30d`` (1 to 366 days); ValueError otherwise."""
    import re

    match = re.match(WINDOW_PATTERN, str(text or "").strip())
    if not match or int(match.group(1)) > MAX_WINDOW_DAYS:
        raise ValueError(f"window must be a number of days such as 30d (1d to {MAX_WINDOW_DAYS}d)")
    return int(match.group(1))


def as_json(window, insights):
    """The insights as the plain document ``flask types suggest`` prints."""
    from app.operations.clock import isoformat
    from app.operations.suggestions import MIN_RUNS, RULE, toml_snippet

    types = []
    for t in insights:
        c = t.counts
        types.append(
            {
                "type": t.op_type.name,
                "label": t.op_type.label,
                "completed": c.completed,
                "outcomes": c.outcomes,
                "reconciled": c.reconciled,
                "measures": {name: vars(dist) for name, dist in t.measures.items()},
                "gaps_known": {"runs": c.gaps_known, "of": c.succeeded},
                "false_alarms": {
                    key: {"runs": n, "of": c.succeeded, "window": getattr(t.op_type, key)}
                    for key, n in c.false_alarms.items()
                },
                "any_false_alarm": c.any_false_alarm,
                "noticed": vars(t.noticed),
                "suggestions": {
                    s.key: {"current": s.current, "suggested": s.value, "reason": s.reason}
                    for s in t.suggestions
                },
            }
        )
    snippet = toml_snippet([(t.op_type.name, t.suggestions) for t in insights])
    return {
        "window_days": window.days,
        "since": isoformat(window.since),
        "until": isoformat(window.now),
        "rule": RULE,
        "min_runs": MIN_RUNS,
        "types": types,
        "toml": snippet,
    }
