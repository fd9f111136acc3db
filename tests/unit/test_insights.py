"""Duration insights from generated histories of known distributions, on both databases,
read from the raw runs and from the rollup (the same answers: counts exactly,
percentiles within one 2 % bucket, maxima exactly)."""

import math
import statistics
from datetime import datetime, timedelta

import pytest

from app.operations.insight_report import BUCKETS, type_insights
from app.operations.insights import Window, summarize
from app.operations.rollup import LAG, roll_up, rolled_until
from app.operations.visibility import Scope
from tests.conftest import T0, same_bucket_or_next
from tests.factories import add_runs, make_tenant, make_workspace

NOW = T0
S = timedelta(seconds=1)
KEY = "baseline_compare"


class Reader:
    """Reads the insights of a window: from the raw runs, or after the rollup was built
    up to the window's end (the runs of its last LAG are then read raw beside it)."""

    def __init__(self, mode, policy):
        self.mode, self.policy = mode, policy

    def _roll(self, window):
        if self.mode == "rolled":
            while (rolled_until() or datetime.min) < window.now - LAG:
                roll_up(self.policy, window.now)

    def __call__(self, window):
        self._roll(window)
        return summarize(window, self.policy)

    def insight(self, window, name=KEY):
        self._roll(window)
        (found,) = [t for t in type_insights(window, self.policy) if t.op_type.name == name]
        return found


@pytest.fixture(params=["raw", "rolled"])
def read(request, policy):
    return Reader(request.param, policy)


def distributions(read, window, name):
    return {(k,): s.measures[name] for k, s in read(window).items() if s.measures[name].n}


def counts(read, window):
    return {k: s.counts for k, s in read(window).items()}


def seconds(value):
    return timedelta(microseconds=round(value * 1_000_000))


def owner_scope(workspace):
    return Scope(workspace.id, "owner", None)


def reference(values):
    """p50/p90/p95/p99/max by the standard library (linear interpolation, inclusive)."""
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return [cuts[49], cuts[89], cuts[94], cuts[98], max(values)]


def as_list(dist):
    return [dist.p50, dist.p90, dist.p95, dist.p99, dist.max]


def within_a_bucket(found, expected):
    """Percentiles within one bucket of the exact ones; the maximum exact."""
    assert found[-1] == pytest.approx(expected[-1], abs=1e-6)
    return all(same_bucket_or_next(f, e) for f, e in zip(found[:-1], expected[:-1], strict=True))


def test_percentiles_of_a_uniform_history(db, read):
    workspace = make_workspace()
    add_runs(workspace, range(1, 1001))
    dist = distributions(read, Window(owner_scope(workspace), NOW), "run_time")[(KEY,)]
    assert dist.n == 1000
    assert within_a_bucket(as_list(dist), [500.5, 900.1, 950.05, 990.01, 1000])
    assert same_bucket_or_next(dist.p01, 10.99)  # what a suggested running_min rests on


@pytest.mark.parametrize("n", [1, 2, 3, 31, 997])
def test_percentiles_of_an_exponential_history_match_the_reference(db, read, n):
    workspace = make_workspace()
    # Exponential quantiles with a 100 s mean, to the microsecond.
    values = [round(-100 * math.log(1 - (i + 0.5) / n), 6) for i in range(n)]
    add_runs(workspace, values)
    dist = distributions(read, Window(owner_scope(workspace), NOW), "run_time")[(KEY,)]
    expected = reference(values) if n > 1 else [values[0]] * 5
    assert dist.n == n
    assert within_a_bucket(as_list(dist), expected)


def test_each_measure_reads_its_own_column(db, read):
    workspace = make_workspace()
    add_runs(
        workspace,
        [100] * 50,
        heartbeat_gap_max=lambda i: float(i),
        progress_gap_max=lambda i: float(2 * i),
        processed=7,
    )
    window = Window(owner_scope(workspace), NOW)
    key = (KEY,)
    assert distributions(read, window, "queue_wait")[key].max == pytest.approx(5)
    assert distributions(read, window, "heartbeat_gap")[key].max == 49
    assert distributions(read, window, "progress_gap")[key].max == 98
    assert same_bucket_or_next(distributions(read, window, "progress_gap")[key].p50, 49)


def test_daily_percentiles(db, read):
    workspace = make_workspace()
    for day in range(3):
        values = [10 * (day + 1) + i for i in range(1, 101)]  # 11..110, 21..120, 31..130
        add_runs(
            workspace,
            values,
            completed=lambda i, day=day: NOW - timedelta(days=day, hours=1) - i * S,
        )
    insight = read.insight(Window(owner_scope(workspace), NOW))
    days = {day: dist for day, dist in insight.daily}
    assert sorted(days) == ["2026-11-24", "2026-11-25", "2026-11-26"]
    assert same_bucket_or_next(days["2026-11-26"].p50, 60.5)
    assert same_bucket_or_next(days["2026-11-24"].p95, 30 + 95.05)
    assert days["2026-11-25"].n == 100
    assert days["2026-11-24"].max == 130


def test_the_window_starts_at_midnight_utc_and_ends_now(db, read):
    """30d at 12:00 reads from 00:00 UTC 30 days before: a run completed then counts, one
    a second (or a microsecond) earlier does not; one at now counts, one a second later
    not. The same at each day's edge: a run at 23:59:59 and one at 00:00:00 fall in
    their own days."""
    workspace = make_workspace()
    edge = datetime(2026, 10, 27)
    assert Window(owner_scope(workspace), NOW).since == edge
    add_runs(workspace, [100], completed=lambda i: edge)
    add_runs(workspace, [150], completed=lambda i: edge + timedelta(days=1) - S)
    add_runs(workspace, [200], completed=lambda i: edge - S)
    add_runs(workspace, [250], completed=lambda i: edge - timedelta(microseconds=1))
    add_runs(workspace, [300], completed=lambda i: NOW)
    add_runs(workspace, [400], completed=lambda i: NOW + S)
    window = Window(owner_scope(workspace), NOW)
    dist = distributions(read, window, "run_time")[(KEY,)]
    assert (dist.n, dist.max) == (3, 300)
    days = dict(read.insight(window).daily)
    assert sorted(days) == ["2026-10-27", "2026-11-26"]
    assert (days["2026-10-27"].n, days["2026-10-27"].max) == (2, 150)


def test_only_the_viewers_runs_count(db, read):
    workspace, other = make_workspace(), make_workspace()
    seen, hidden = make_tenant(workspace), make_tenant(workspace)
    add_runs(workspace, [10] * 3, tenant=seen)
    add_runs(workspace, [20] * 4)  # workspace-level: every member sees them
    add_runs(workspace, [1000] * 5, tenant=hidden)
    add_runs(other, [5000] * 6)
    scope = Scope(workspace.id, "operator", frozenset({seen.id}))
    dist = distributions(read, Window(scope, NOW), "run_time")[(KEY,)]
    assert (dist.n, dist.max) == (7, 20)
    narrowed = distributions(read, Window(scope, NOW, tenant_id=seen.id), "run_time")
    assert (narrowed[(KEY,)].n, narrowed[(KEY,)].max) == (3, 10)
    viewer = Scope(workspace.id, "viewer", frozenset())
    assert distributions(read, Window(viewer, NOW), "run_time")[(KEY,)].n == 4
    owner = distributions(read, Window(owner_scope(workspace), NOW), "run_time")[(KEY,)]
    assert (owner.n, owner.max) == (12, 1000)
    elsewhere = distributions(read, Window(owner_scope(other), NOW), "run_time")[(KEY,)]
    assert (elsewhere.n, elsewhere.max) == (6, 5000)


def test_false_alarms_are_counted_exactly_at_each_window(db, policy, read):
    """baseline_compare: queued stale 15 min, running stale 30 min, heartbeat 5 min, no
    progress check. A measure exactly at its window is not an alarm; 1 us more is."""
    workspace = make_workspace()
    op = policy.for_type(KEY)
    assert (op.queued_stale, op.running_stale, op.heartbeat_stale) == (900, 1800, 300)
    at_limit = op.running_stale
    add_runs(workspace, [at_limit - 1, at_limit, at_limit + 0.000001, at_limit + 1])
    add_runs(workspace, [10] * 3, heartbeat_gap_max=lambda i: [300, 300.000001, 301][i])
    add_runs(workspace, [10] * 2, progress_gap_max=10_000.0, processed=1)
    add_runs(workspace, [at_limit + 5], heartbeat_gap_max=400.0)  # two alarms, one run
    add_runs(workspace, [at_limit + 5], outcome="failed")  # not a success: not an alarm
    (found,) = counts(read, Window(owner_scope(workspace), NOW)).values()
    assert found.false_alarms == {
        "queued_stale": 0,
        "running_stale": 3,
        "heartbeat_stale": 3,
        "progress_stale": 0,
    }
    assert found.any_false_alarm == 5
    assert found.succeeded == 10 and found.outcomes["failed"] == 1


def test_queue_wait_alarms_at_the_queued_window(db, policy, read):
    workspace = make_workspace()
    limit = policy.for_type(KEY).queued_stale
    add_runs(workspace, [10] * 3, wait=lambda i: [limit - 1, limit, limit + 0.000001][i])
    (found,) = counts(read, Window(owner_scope(workspace), NOW)).values()
    assert found.false_alarms["queued_stale"] == 1


def test_unknown_gaps_are_counted_and_never_alarm(db, read):
    workspace = make_workspace()
    add_runs(workspace, [10] * 3, heartbeat_gap_max=None, progress_gap_max=None)
    add_runs(workspace, [10] * 2, heartbeat_gap_max=1000.0)
    (found,) = counts(read, Window(owner_scope(workspace), NOW)).values()
    assert (found.gaps_known, found.succeeded) == (2, 5)
    assert found.false_alarms["heartbeat_stale"] == 2


def test_histogram_counts_every_run_once(db, read):
    workspace = make_workspace()
    add_runs(workspace, [1, 2, 3, 1799, 1800, 5000, 99999])
    width, bars, overflow = read.insight(Window(owner_scope(workspace), NOW)).histogram
    assert len(bars) == BUCKETS and sum(bars) + overflow == 7
    assert width * BUCKETS >= 99999 * 0.99  # the axis reaches past p99
    assert bars[0] == 5 and bars[1] == 1 and overflow == 1  # about 4,125 s a bar


def test_every_measure_keeps_its_own_runs(db, read):
    """Gaps are known only for runs that report them; progress gaps only with progress."""
    workspace = make_workspace()
    add_runs(
        workspace,
        [i * 1.5 for i in range(1, 80)],
        heartbeat_gap_max=lambda i: float(i % 13),
        progress_gap_max=lambda i: float(i % 17),
        processed=lambda i: 1 if i % 3 else None,
        wait=lambda i: i % 11,
    )
    add_runs(workspace, [7] * 5, type="inventory_sync", heartbeat_gap_max=None)
    found = read(Window(owner_scope(workspace), NOW))
    base, other = found[KEY].measures, found["inventory_sync"].measures
    assert [base[m].n for m in ("queue_wait", "run_time", "heartbeat_gap")] == [79] * 3
    assert (base["progress_gap"].n, base["progress_gap"].max) == (52, 16)
    assert (base["heartbeat_gap"].max, base["queue_wait"].max) == (12, 10)
    assert (other["run_time"].n, other["heartbeat_gap"].n) == (5, 0)


@pytest.mark.parametrize("ago", [timedelta(hours=2), timedelta(minutes=1)], ids=["rolled", "tail"])
def test_the_first_deadline_decides_when_a_run_was_shown_stale_to_the_second(db, read, ago):
    """baseline_compare: stale 5 min after a heartbeat or 30 min after the start. A
    heartbeat 1 s before, at and 1 s after start + 25 min: shown stale 300, 300 and 299 s
    after it; a run that never started: its queued window after creation. Runs completed
    2 h ago sit in the rollup, 1 min ago in the raw tail (in "rolled" mode)."""
    op_type = read.policy.for_type(KEY)
    assert (op_type.heartbeat_stale, op_type.running_stale) == (300, 1800)
    done = NOW - ago
    start = done - timedelta(hours=1)
    cases = [(start, start + (1500 + d) * S) for d in (-1, 0, 1)] + [(None, None)]
    workspaces = []
    for started, beat in cases:
        workspaces.append(make_workspace())
        add_runs(
            workspaces[-1],
            [3600],
            outcome="failed",
            reconciled_at=done,
            completed=lambda i: done,
            started_at=started,
            last_heartbeat_at=beat,
            created_at=start - 10 * S,
        )
    found = [read.insight(Window(owner_scope(w), NOW)).noticed for w in workspaces]
    assert [n.runs for n in found] == [1] * 4
    assert [n.shown_after for n in found] == pytest.approx([300, 300, 299, op_type.queued_stale])
    closed = [(done - (beat or start - 10 * S)) / S for _, beat in cases]
    assert [n.closed_after for n in found] == pytest.approx(closed)


def test_stale_runs_are_noticed_when_the_one_truth_says_they_were(db, read):
    """baseline_compare: heartbeat silence stale after 5 min, running stale after 30 min.
    A run silent 2 min after its start is shown stale at +5 min (heartbeat rule); a run
    that never sent a heartbeat at +30 min after its start (lifecycle rule)."""
    workspace = make_workspace()
    beat = NOW - timedelta(hours=3)
    add_runs(
        workspace,
        [3600, 3600],
        outcome="failed",
        reconciled_at=lambda i: NOW - timedelta(hours=2),
        last_heartbeat_at=lambda i: [beat, None][i],
        started_at=lambda i: beat - timedelta(minutes=2),
        completed=lambda i: NOW - timedelta(hours=2),
    )
    insight = read.insight(Window(owner_scope(workspace), NOW))
    noticed = insight.noticed
    assert noticed.runs == 2
    # shown stale 300 s after the heartbeat, and 1800 s after the start of the silent one
    assert noticed.shown_after == pytest.approx((300 + 1800) / 2)
    # closed at NOW - 2 h: 3600 s after the heartbeat, 3720 s after the other's start
    assert noticed.closed_after == pytest.approx((3600 + 3720) / 2)
    assert insight.counts.reconciled == 2 and insight.counts.succeeded == 0
