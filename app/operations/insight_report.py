"""Everything the insights say about each operation type over one window, assembled.

Used by the insights page and by ``flask types suggest``: both show the same numbers.
"""

from dataclasses import dataclass

from app.operations.buckets import value_of
from app.operations.insights import NO_SUMMARY, Counts, summarize
from app.operations.suggestions import suggest

BUCKETS = 24


@dataclass(frozen=True)
class Noticed:
    """Runs the reconciler closed: how long after their last sign of life they were shown
    likely stale, and closed (averages over the ``runs`` runs of the window, seconds)."""

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


def type_insights(window, policy):
    """[TypeInsight] for every configured type (or ``window.type``) and every other type
    that has completed runs in the window, by name."""
    found = summarize(window, policy)
    names = set(policy.names()) | set(found)
    if window.type is not None:
        names = {window.type}
    result = []
    for name in sorted(names):
        op_type = policy.for_type(name)
        summary = found.get(name, NO_SUMMARY)
        width = bucket_width(op_type, summary.measures["run_time"])
        result.append(
            TypeInsight(
                op_type,
                summary.counts,
                summary.measures,
                summary.daily,
                (width, *bars(summary.run_times, width)),
                noticed(summary.cell),
                suggest(op_type, summary.measures),
            )
        )
    return result


def bucket_width(op_type, run_time):
    """Seconds per histogram bucket: the axis reaches past p99 and the stale window."""
    reach = max(run_time.p99 or 0, op_type.running_stale) * 1.05
    return max(reach / BUCKETS, 1e-6)


def bars(histogram, width):
    """([count per bar], overflow) of run times ``width`` seconds a bar: each 2 % bucket
    falls in the bar of the value it stands for (at most its exact maximum)."""
    counts = [0] * (BUCKETS + 1)
    for bucket, n in histogram.items():
        value = min(value_of(bucket), histogram.top)
        counts[min(int(max(value, 0) / width), BUCKETS)] += n
    return counts[:BUCKETS], counts[BUCKETS]


def noticed(cell):
    """The Noticed of a Cell's reconciled runs."""
    runs = cell.counts[-1]
    if not runs:
        return Noticed(0, None, None)
    return Noticed(runs, cell.shown / runs, cell.closed / runs)


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
