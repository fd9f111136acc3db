"""Suggested windows: the stated rule, the minimum-sample guard, and the TOML round trip."""

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.operations import freshness as fr
from app.operations.insights import Distribution
from app.operations.policy import DEFAULT_TYPES, load_policy
from app.operations.suggestions import MIN_RUNS, suggest, toml_snippet, whole_seconds
from tests.conftest import T0

BASE = DEFAULT_TYPES["inventory_sync"]


def dist(n, p90=100.0, p99=200.0):
    return Distribution(n, p90 / 2, p90, (p90 + p99) / 2, p99, p99 * 2, p90 / 10)


def measures(n):
    return {
        "queue_wait": dist(n, 10.0, 40.0),
        "run_time": dist(n, 600.2, 1000.0),
        "heartbeat_gap": dist(n, 30.0, 59.9),
        "progress_gap": dist(n, 100.0, 300.0),
    }


def test_the_rule_expected_p90_stale_p99_times_one_and_a_quarter():
    found = {s.key: s.value for s in suggest(BASE, measures(MIN_RUNS))}
    assert found == {
        "queued_expected": 10,
        "queued_stale": 50,
        "running_expected": 601,  # rounded up
        "running_stale": 1250,
        "heartbeat_stale": 75,  # 59.9 x 1.25 = 74.875
        "progress_stale": 375,
        "running_min": 30,  # p1 60.02 x 0.5 = 30.01, rounded down
    }


@pytest.mark.parametrize("p01, expected", [(2.0, 1), (1.999, None), (0.0, None), (61.5, 30)])
def test_running_min_is_half_the_fastest_percent_rounded_down_never_under_a_second(p01, expected):
    found = measures(MIN_RUNS)
    found["run_time"] = replace(found["run_time"], p01=p01)
    (running_min,) = [s for s in suggest(BASE, found) if s.key == "running_min"]
    assert running_min.value == expected
    if expected is None:
        assert running_min.reason == "p01 × 0.5 is under 1 s: no minimum"
    snippet = toml_snippet([("inventory_sync", [running_min])])
    assert ("running_min" in snippet) is (expected is not None)


def test_no_suggestion_below_the_minimum_sample():
    below = suggest(BASE, measures(MIN_RUNS - 1))
    assert all(s.value is None for s in below)
    assert below[0].reason == f"only {MIN_RUNS - 1} runs with a queue wait; {MIN_RUNS} needed"
    assert toml_snippet([("inventory_sync", below)]) == ""
    mixed = measures(MIN_RUNS)
    mixed["heartbeat_gap"] = dist(MIN_RUNS - 1)
    values = {s.key: s.value for s in suggest(BASE, mixed)}
    assert values["heartbeat_stale"] is None and values["running_stale"] == 1250


def test_whole_seconds_ignore_float_noise_and_are_at_least_one():
    assert whole_seconds(800 * 1.25) == 1000
    assert whole_seconds(1000.0000000001) == 1000
    assert whole_seconds(1000.000001) == 1001
    assert whole_seconds(0.0) == 1


@pytest.mark.parametrize("name", ["inventory_sync", "nightly.export", 'odd "name" \\ é'])
def test_suggestions_round_trip_through_the_toml_loader(tmp_path, name):
    op_type = replace(BASE, name=name)
    suggestions = suggest(op_type, measures(500))
    snippet = toml_snippet([(name, suggestions)])
    if name not in DEFAULT_TYPES:  # a new type needs its label and grace too
        snippet = snippet.replace("\n", '\nlabel = "X"\nreconcile_grace = 60\n', 1)
    path = tmp_path / "types.toml"
    path.write_text(snippet, encoding="utf-8")
    loaded = load_policy(str(path)).types[name]
    for s in suggestions:
        assert getattr(loaded, s.key) == s.value


@settings(max_examples=200, deadline=None)
@given(
    limit=st.integers(1, 10_000),
    delta_us=st.integers(-2_000_000, 2_000_000),
    key=st.sampled_from(sorted(fr.HISTORY_MEASURES)),
)
def test_history_agrees_with_the_live_rule(limit, delta_us, key):
    """A completed run whose measure passed a window would have been shown likely stale
    by ``freshness`` at the end of that measure, and only then."""
    op_type = replace(
        BASE,
        name="t",
        queued_expected=1,
        queued_stale=limit if key == "queued_stale" else 10**9,
        running_expected=1,
        running_stale=limit if key == "running_stale" else 10**9,
        heartbeat_stale=limit if key == "heartbeat_stale" else None,
        progress_stale=limit if key == "progress_stale" else None,
    )
    from app.operations.policy import Policy

    policy = Policy({"t": op_type})
    value = max(0, limit * 1_000_000 + delta_us) / 1_000_000
    measured = timedelta(microseconds=round(value * 1_000_000))
    run = _active_at_end_of(key, measured)
    live = fr.freshness(run, policy, run.now).state == fr.LIKELY_STALE
    assert fr.exceeded(value, limit) == live


class _Run:
    def __init__(self, **values):
        self.__dict__.update(values)


def _active_at_end_of(key, measured):
    """The run as it was at the instant its measure (``key``'s) ended."""
    common = dict(type="t", reconciled_at=None, last_progress_at=None, last_heartbeat_at=None)
    if key == "queued_stale":
        return _Run(status="queued", created_at=T0, started_at=None, now=T0 + measured, **common)
    values = {**common, "status": "running", "created_at": T0, "started_at": T0}
    if key == "heartbeat_stale":
        values["last_heartbeat_at"] = T0 + timedelta(seconds=5)
        return _Run(**values, now=T0 + timedelta(seconds=5) + measured)
    return _Run(**values, now=T0 + measured)
