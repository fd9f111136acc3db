"""View models of the insights page: finished sentences, table rows and SVG charts."""

from dataclasses import dataclass

from app.operations.insight_report import BUCKETS
from app.presenter import charts
from app.presenter.formatting import duration

MEASURE_LABELS = {
    "queue_wait": "Queue wait",
    "run_time": "Run time",
    "heartbeat_gap": "Longest heartbeat gap",
    "progress_gap": "Longest progress gap",
}
WINDOW_WORDS = {
    "queued_stale": "waited in the queue longer than queued_stale ({limit})",
    "running_stale": "ran past running_stale ({limit})",
    "heartbeat_stale": "went silent between heartbeats longer than heartbeat_stale ({limit})",
    "progress_stale": "made no progress for longer than progress_stale ({limit})",
}
OUTCOME_LABELS = (
    ("succeeded", "succeeded"),
    ("partially_succeeded", "partially succeeded"),
    ("failed", "failed"),
    ("cancelled", "cancelled"),
)


def precise(seconds):
    """Seconds for a percentile: "4.2 s", "12 min 5 s", "3 h 12 min"; "—" when unknown."""
    if seconds is None:
        return "—"
    if seconds < 10:
        return f"{seconds:.1f} s".replace(".0 s", " s")
    if seconds < 3600:
        minutes, rest = divmod(int(round(seconds)), 60)
        if not minutes:
            return f"{rest} s"
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    return duration(seconds)


def _n(value):
    return f"{value:,}"


@dataclass(frozen=True)
class TypeView:
    name: str
    label: str
    summary: str
    measures: list  # (label, runs, p50, p90, p95, p99, max)
    alarms: list  # sentences
    gaps: str
    noticed: str | None
    suggestions: list  # (key, current, suggested, reason)
    histogram_svg: object
    histogram_rows: list  # (range, runs)
    daily_svg: object
    daily_rows: list  # (day, runs, p50, p95)


def type_views(insights, days):
    """A TypeView per TypeInsight, for a window of ``days``."""
    return [_view(t, days) for t in insights]


def _view(t, days):
    c, op = t.counts, t.op_type
    outcomes = ", ".join(f"{_n(c.outcomes.get(k, 0))} {w}" for k, w in OUTCOME_LABELS)
    summary = f"{_n(c.completed)} runs completed in the last {days} days: {outcomes}."
    if c.reconciled:
        summary += f" The reconciler closed {_n(c.reconciled)} of them."
    measures = [
        (MEASURE_LABELS[name], _n(d.n), *(precise(v) for v in (d.p50, d.p90, d.p95, d.p99)))
        + (precise(d.max),)
        for name, d in t.measures.items()
    ]
    return TypeView(
        op.name,
        op.label,
        summary,
        measures,
        _alarms(t, days),
        f"Gaps known for {_n(c.gaps_known)} of {_n(c.succeeded)} successful runs "
        "(runs reported before gaps were kept have none).",
        _noticed(t.noticed),
        [_suggestion_row(s) for s in t.suggestions],
        *_histogram(t),
        *_daily(t),
    )


def _alarms(t, days):
    c, op = t.counts, t.op_type
    sentences = []
    for key, count in c.false_alarms.items():
        limit = getattr(op, key)
        if limit is None:
            continue
        words = WINDOW_WORDS[key].format(limit=precise(limit))
        sentences.append(
            f"{_n(count)} of {_n(c.succeeded)} successful runs in the last {days} days "
            f"{words} and were shown likely stale: false alarms."
        )
    sentences.append(
        f"In all, {_n(c.any_false_alarm)} of {_n(c.succeeded)} successful runs were shown "
        "likely stale at some point."
    )
    return sentences


def _noticed(noticed):
    if not noticed.runs:
        return None
    return (
        f"Stale runs were noticed on average {precise(noticed.shown_after)} after their last "
        f"heartbeat (or start) and closed by the reconciler {precise(noticed.closed_after)} "
        f"after it ({_n(noticed.runs)} runs)."
    )


def _suggestion_row(s):
    current = "off" if s.current is None else precise(s.current)
    if s.value is None:
        return (s.key, current, "—", s.reason)
    return (s.key, current, f"{precise(s.value)} ({s.value} s)", f"{s.reason} of {_n(s.runs)} runs")


def _histogram(t):
    op, run_time = t.op_type, t.measures["run_time"]
    width, bars, overflow = t.histogram
    axis = width * BUCKETS
    marks = [
        ("chart-mark-expected", op.running_expected, "expected"),
        ("chart-mark-stale", op.running_stale, "stale"),
    ]
    desc = (
        f"{_n(run_time.n)} successful runs by run time in {BUCKETS} buckets of "
        f"{precise(width)} from 0 to {precise(axis)}; {_n(overflow)} ran longer. Configured: "
        f"expected {precise(op.running_expected)}, stale {precise(op.running_stale)}."
    )
    svg = charts.histogram(f"Run time of {op.label}", desc, bars, axis, marks, precise)
    rows = [
        (f"{precise(i * width)} – {precise((i + 1) * width)}", _n(count))
        for i, count in enumerate(bars)
        if count
    ]
    if overflow:
        rows.append((f"over {precise(axis)}", _n(overflow)))
    return svg, rows


def _daily(t):
    op = t.op_type
    days = [day for day, _ in t.daily]
    p50 = [d.p50 for _, d in t.daily]
    p95 = [d.p95 for _, d in t.daily]
    series = [("chart-p50", p50), ("chart-p95", p95)]
    marks = [
        ("chart-mark-expected", op.running_expected, "expected"),
        ("chart-mark-stale", op.running_stale, "stale"),
    ]
    desc = f"Daily p50 and p95 of run time over {len(days)} days with runs, next to the windows."
    svg = charts.daily_lines(f"Daily run time of {op.label}", desc, days, series, marks, precise)
    rows = [(day, _n(d.n), precise(d.p50), precise(d.p95)) for day, d in t.daily]
    return svg, rows
