"""Duration insights from generated histories of known distributions, on both databases."""

import math
import statistics
from datetime import timedelta

import pytest

from app.operations.insight_report import BUCKETS, type_insights
from app.operations.insights import Window, counts, distributions
from app.operations.visibility import Scope
from tests.conftest import T0
from tests.factories import add_runs, make_tenant, make_workspace

NOW = T0
S = timedelta(seconds=1)


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


def test_percentiles_of_a_uniform_history(db):
    workspace = make_workspace()
    add_runs(workspace, range(1, 1001))
    dist = distributions(Window(owner_scope(workspace), NOW), "run_time")[("baseline_compare",)]
    assert dist.n == 1000
    assert as_list(dist) == pytest.approx([500.5, 900.1, 950.05, 990.01, 1000], abs=1e-6)


@pytest.mark.parametrize("n", [1, 2, 3, 31, 997])
def test_percentiles_of_an_exponential_history_match_the_reference(db, n):
    workspace = make_workspace()
    # Exponential quantiles with a 100 s mean, to the microsecond.
    values = [round(-100 * math.log(1 - (i + 0.5) / n), 6) for i in range(n)]
    add_runs(workspace, values)
    dist = distributions(Window(owner_scope(workspace), NOW), "run_time")[("baseline_compare",)]
    expected = reference(values) if n > 1 else [values[0]] * 5
    assert dist.n == n
    assert as_list(dist) == pytest.approx(expected, abs=1e-5)


def test_each_measure_reads_its_own_column(db):
    workspace = make_workspace()
    add_runs(
        workspace,
        [100] * 50,
        heartbeat_gap_max=lambda i: float(i),
        progress_gap_max=lambda i: float(2 * i),
        processed=7,
    )
    window = Window(owner_scope(workspace), NOW)
    key = ("baseline_compare",)
    assert distributions(window, "queue_wait")[key].max == pytest.approx(5)
    assert distributions(window, "heartbeat_gap")[key].max == 49
    assert distributions(window, "progress_gap")[key].p50 == pytest.approx(49)


def test_daily_percentiles(db, policy):
    workspace = make_workspace()
    for day in range(3):
        values = [10 * (day + 1) + i for i in range(1, 101)]  # 11..110, 21..120, 31..130
        add_runs(
            workspace,
            values,
            completed=lambda i, day=day: NOW - timedelta(days=day, hours=1) - i * S,
        )
    (insight,) = [
        t
        for t in type_insights(Window(owner_scope(workspace), NOW), policy)
        if t.op_type.name == "baseline_compare"
    ]
    days = {day: dist for day, dist in insight.daily}
    assert sorted(days) == ["2026-11-24", "2026-11-25", "2026-11-26"]
    assert days["2026-11-26"].p50 == pytest.approx(60.5)
    assert days["2026-11-24"].p95 == pytest.approx(30 + 95.05)
    assert days["2026-11-25"].n == 100


def test_the_window_bounds_which_runs_count(db):
    workspace = make_workspace()
    edge = NOW - timedelta(days=30)
    add_runs(workspace, [100], completed=lambda i: edge)  # exactly at the edge
    add_runs(workspace, [200], completed=lambda i: edge - timedelta(microseconds=1))
    add_runs(workspace, [300], completed=lambda i: NOW)
    add_runs(workspace, [400], completed=lambda i: NOW + timedelta(microseconds=1))
    dist = distributions(Window(owner_scope(workspace), NOW), "run_time")[("baseline_compare",)]
    assert (dist.n, dist.max) == (2, 300)


def test_only_the_viewers_runs_count(db):
    workspace, other = make_workspace(), make_workspace()
    seen, hidden = make_tenant(workspace), make_tenant(workspace)
    add_runs(workspace, [10] * 3, tenant=seen)
    add_runs(workspace, [20] * 4)  # workspace-level: every member sees them
    add_runs(workspace, [1000] * 5, tenant=hidden)
    add_runs(other, [5000] * 6)
    scope = Scope(workspace.id, "operator", frozenset({seen.id}))
    dist = distributions(Window(scope, NOW), "run_time")[("baseline_compare",)]
    assert (dist.n, dist.max) == (7, 20)
    narrowed = distributions(Window(scope, NOW, tenant_id=seen.id), "run_time")
    assert narrowed[("baseline_compare",)].n == 3
    assert (
        distributions(Window(Scope(workspace.id, "viewer", frozenset()), NOW), "run_time")[
            ("baseline_compare",)
        ].n
        == 4
    )


def test_false_alarms_are_counted_exactly_at_each_window(db, policy):
    """baseline_compare: queued stale 15 min, running stale 30 min, heartbeat 5 min, no
    progress check. A measure exactly at its window is not an alarm; 1 us more is."""
    workspace = make_workspace()
    op = policy.for_type("baseline_compare")
    assert (op.queued_stale, op.running_stale, op.heartbeat_stale) == (900, 1800, 300)
    at_limit = op.running_stale
    add_runs(workspace, [at_limit - 1, at_limit, at_limit + 0.000001, at_limit + 1])
    add_runs(workspace, [10] * 3, heartbeat_gap_max=lambda i: [300, 300.000001, 301][i])
    add_runs(workspace, [10] * 2, progress_gap_max=10_000.0, processed=1)
    add_runs(workspace, [at_limit + 5], heartbeat_gap_max=400.0)  # two alarms, one run
    add_runs(workspace, [at_limit + 5], outcome="failed")  # not a success: not an alarm
    (found,) = counts(Window(owner_scope(workspace), NOW), policy).values()
    assert found.false_alarms == {
        "queued_stale": 0,
        "running_stale": 3,
        "heartbeat_stale": 3,
        "progress_stale": 0,
    }
    assert found.any_false_alarm == 5
    assert found.succeeded == 10 and found.outcomes["failed"] == 1


def test_queue_wait_alarms_at_the_queued_window(db, policy):
    workspace = make_workspace()
    limit = policy.for_type("baseline_compare").queued_stale
    add_runs(workspace, [10] * 3, wait=lambda i: [limit - 1, limit, limit + 0.000001][i])
    (found,) = counts(Window(owner_scope(workspace), NOW), policy).values()
    assert found.false_alarms["queued_stale"] == 1


def test_unknown_gaps_are_counted_and_never_alarm(db, policy):
    workspace = make_workspace()
    add_runs(workspace, [10] * 3, heartbeat_gap_max=None, progress_gap_max=None)
    add_runs(workspace, [10] * 2, heartbeat_gap_max=1000.0)
    (found,) = counts(Window(owner_scope(workspace), NOW), policy).values()
    assert (found.gaps_known, found.succeeded) == (2, 5)
    assert found.false_alarms["heartbeat_stale"] == 2


def test_histogram_counts_every_run_once(db, policy):
    workspace = make_workspace()
    add_runs(workspace, [1, 2, 3, 1799, 1800, 5000, 99999])
    (insight,) = [
        t
        for t in type_insights(Window(owner_scope(workspace), NOW), policy)
        if t.op_type.name == "baseline_compare"
    ]
    width, bars, overflow = insight.histogram
    assert len(bars) == BUCKETS and sum(bars) + overflow == 7
    assert width * BUCKETS >= 99999 * 0.99  # the axis reaches past p99
    assert bars[0] == 5 and bars[1] == 1 and overflow == 1  # 4,125 s a bucket


def test_one_scan_of_every_measure_agrees_with_each_measure_alone(db):
    from app.operations.insights import MEASURES, every_distribution

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
    window = Window(owner_scope(workspace), NOW)
    together = every_distribution(window)
    for name in MEASURES:
        assert together[name] == pytest.approx(distributions(window, name)), name


def test_stale_runs_are_noticed_when_the_one_truth_says_they_were(db, policy):
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
    (insight,) = [
        t
        for t in type_insights(Window(owner_scope(workspace), NOW), policy)
        if t.op_type.name == "baseline_compare"
    ]
    noticed = insight.noticed
    assert noticed.runs == 2
    # shown stale 300 s after the heartbeat, and 1800 s after the start of the silent one
    assert noticed.shown_after == pytest.approx((300 + 1800) / 2)
    # closed at NOW - 2 h: 3600 s after the heartbeat, 3720 s after the other's start
    assert noticed.closed_after == pytest.approx((3600 + 3720) / 2)
    assert insight.counts.reconciled == 2 and insight.counts.succeeded == 0
