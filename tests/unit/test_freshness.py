"""Freshness boundaries: exactly at every threshold and one second either side."""

from datetime import timedelta
from types import SimpleNamespace

import pytest

from app.operations import freshness as fr
from app.operations.policy import OperationType, Policy
from tests.conftest import T0

S = timedelta(seconds=1)
SYNC = OperationType(
    "sync",
    "Sync",
    queued_expected=60,
    queued_stale=300,
    running_expected=600,
    running_stale=1800,
    heartbeat_stale=120,
    progress_stale=900,
    reconcile_grace=600,
)
PLAIN = OperationType("plain", "Plain", 60, 300, 600, 1800, None, None, 0)
POLICY = Policy({"sync": SYNC, "plain": PLAIN})


def run(
    status="running",
    type="sync",
    started=None,
    created=None,
    heartbeat=None,
    progress=None,
    processed=None,
    reconciled_at=None,
    outcome="pending",
    completed=None,
):
    created = created or (started or T0) - 10 * S
    return SimpleNamespace(
        id=1,
        type=type,
        status=status,
        outcome=outcome,
        created_at=created,
        started_at=started,
        last_heartbeat_at=heartbeat,
        last_progress_at=progress,
        processed=processed,
        reconciled_at=reconciled_at,
        completed_at=completed,
    )


def state_at(r, now):
    return fr.freshness(r, POLICY, now)


@pytest.mark.parametrize("delta, expected", [(-1, fr.FRESH), (0, fr.FRESH), (1, fr.PAST_EXPECTED)])
def test_queued_expected_boundary(delta, expected):
    r = run("queued", created=T0)
    assert state_at(r, T0 + (60 + delta) * S).state == expected


@pytest.mark.parametrize(
    "delta, expected", [(-1, fr.PAST_EXPECTED), (0, fr.PAST_EXPECTED), (1, fr.LIKELY_STALE)]
)
def test_queued_stale_boundary_never_started(delta, expected):
    r = run("queued", created=T0)
    result = state_at(r, T0 + (300 + delta) * S)
    assert result.state == expected
    if expected == fr.LIKELY_STALE:
        assert result.stale_reason == fr.NEVER_STARTED
        assert result.stale_since == T0 + 300 * S
        assert result.reconcile_at == T0 + 900 * S
    else:
        assert result.stale_reason is None and result.stale_since is None


@pytest.mark.parametrize("delta, expected", [(-1, fr.FRESH), (0, fr.FRESH), (1, fr.PAST_EXPECTED)])
def test_running_expected_boundary(delta, expected):
    r = run(started=T0, heartbeat=T0 + (600 + delta) * S, progress=T0 + (600 + delta) * S)
    assert state_at(r, T0 + (600 + delta) * S).state == expected


@pytest.mark.parametrize(
    "delta, expected", [(-1, fr.PAST_EXPECTED), (0, fr.PAST_EXPECTED), (1, fr.LIKELY_STALE)]
)
def test_running_lifecycle_boundary(delta, expected):
    now = T0 + (1800 + delta) * S
    r = run(started=T0, heartbeat=now, progress=now)
    result = state_at(r, now)
    assert result.state == expected
    if expected == fr.LIKELY_STALE:
        assert result.stale_reason == fr.LIFECYCLE_EXCEEDED
        assert result.stale_since == T0 + 1800 * S


@pytest.mark.parametrize("delta, expected", [(-1, fr.FRESH), (0, fr.FRESH), (1, fr.LIKELY_STALE)])
def test_heartbeat_silence_boundary(delta, expected):
    hb = T0 + 60 * S
    now = hb + (120 + delta) * S
    r = run(started=T0, heartbeat=hb, progress=now)
    result = state_at(r, now)
    assert result.state == expected
    if expected == fr.LIKELY_STALE:
        assert result.stale_reason == fr.NO_HEARTBEAT
        assert result.stale_since == hb + 120 * S
        assert result.reconcile_at == hb + 720 * S


def test_heartbeat_rule_needs_a_heartbeat():
    r = run(started=T0, heartbeat=None, progress=T0 + 500 * S)
    assert state_at(r, T0 + 500 * S).state == fr.FRESH


@pytest.mark.parametrize(
    "delta, expected", [(-1, fr.PAST_EXPECTED), (0, fr.PAST_EXPECTED), (1, fr.LIKELY_STALE)]
)
def test_progress_silence_boundary(delta, expected):
    progress = T0 + 100 * S
    now = progress + (900 + delta) * S
    r = run(started=T0, heartbeat=now, progress=progress)
    result = state_at(r, now)
    assert result.state == expected
    if expected == fr.LIKELY_STALE:
        assert result.stale_reason == fr.NO_PROGRESS


def test_progress_silence_counts_from_start_without_progress():
    now = T0 + 901 * S
    result = state_at(run(started=T0, heartbeat=now), now)
    assert (result.state, result.stale_reason) == (fr.LIKELY_STALE, fr.NO_PROGRESS)


def test_type_without_silence_rules_only_has_lifecycle():
    r = run(type="plain", started=T0, heartbeat=T0)
    assert state_at(r, T0 + 1800 * S).state == fr.PAST_EXPECTED
    assert state_at(r, T0 + 1801 * S).stale_reason == fr.LIFECYCLE_EXCEEDED


def test_first_tripped_rule_wins():
    # Heartbeat deadline T0+220 comes before progress (T0+900) and lifecycle (T0+1800).
    r = run(started=T0, heartbeat=T0 + 100 * S)
    result = state_at(r, T0 + 2000 * S)
    assert result.stale_reason == fr.NO_HEARTBEAT
    assert result.stale_since == T0 + 220 * S


def test_terminal_and_reconciled():
    done = run("completed", started=T0, outcome="succeeded", completed=T0)
    closed = run("completed", started=T0, outcome="failed", completed=T0, reconciled_at=T0)
    assert state_at(done, T0).state == fr.TERMINAL
    assert state_at(closed, T0).state == fr.RECONCILED_FAILED
    assert state_at(done, T0).next_transition_at is None


def test_next_transition_at_is_the_first_instant_of_change():
    r = run(started=T0, heartbeat=T0 + 590 * S, progress=T0 + 590 * S)
    fresh = state_at(r, T0 + 10 * S)
    assert fresh.next_transition_at == T0 + 600 * S + fr.TICK
    assert state_at(r, fresh.next_transition_at).state == fr.PAST_EXPECTED
    assert state_at(r, fresh.next_transition_at - fr.TICK).state == fr.FRESH
    late = state_at(r, T0 + 601 * S)
    assert late.next_transition_at == T0 + 710 * S + fr.TICK  # heartbeat deadline
    assert state_at(r, late.next_transition_at).state == fr.LIKELY_STALE
    assert state_at(r, late.next_transition_at).next_transition_at is None


def test_fresh_can_go_straight_to_stale():
    r = run(started=T0, heartbeat=T0)
    result = state_at(r, T0 + 1 * S)
    assert result.next_transition_at == T0 + 120 * S + fr.TICK


@pytest.mark.parametrize("delta, due", [(-1, False), (0, True), (1, True)])
def test_reconcile_due_boundary(delta, due):
    hb = T0 + 60 * S
    r = run(started=T0, heartbeat=hb, progress=T0 + 3000 * S)
    at = hb + (120 + 600 + delta) * S
    assert fr.freshness(r, POLICY, at).reconcile_due(at) is due


@pytest.mark.parametrize("delta, due", [(0, False), (1, True)])
def test_reconcile_with_zero_grace_waits_until_stale(delta, due):
    r = run(type="plain", started=T0)
    at = T0 + (1800 + delta) * S
    assert fr.freshness(r, POLICY, at).reconcile_due(at) is due


@pytest.mark.parametrize(
    "outcome, ago, expected",
    [
        ("failed", 7 * 86400 - 1, fr.TERMINAL_FOLLOW_UP),
        ("failed", 7 * 86400, fr.TERMINAL_FOLLOW_UP),
        ("failed", 7 * 86400 + 1, fr.NO_PROBLEM),
        ("partially_succeeded", 60, fr.TERMINAL_FOLLOW_UP),
        ("succeeded", 60, fr.NO_PROBLEM),
        ("cancelled", 60, fr.NO_PROBLEM),
    ],
)
def test_follow_up_window_boundary(outcome, ago, expected):
    r = run("completed", started=T0 - 10 * 86400 * S, outcome=outcome, completed=T0 - ago * S)
    assert fr.problem_class(r, POLICY, T0) == expected


def test_stale_run_is_attention_and_past_expected_is_not():
    stale = run(started=T0, heartbeat=T0)
    late = run(started=T0, heartbeat=T0 + 650 * S, progress=T0 + 650 * S)
    assert fr.problem_class(stale, POLICY, T0 + 121 * S) == fr.ACTIVE_STALE_ATTENTION
    assert fr.problem_class(late, POLICY, T0 + 700 * S) == fr.NO_PROBLEM
    assert fr.freshness(late, POLICY, T0 + 700 * S).state == fr.PAST_EXPECTED


def test_unconfigured_type_uses_fallback_lifecycle():
    r = run(type="gone", started=T0)
    fallback = POLICY.for_type("gone")
    assert state_at(r, T0 + fallback.running_stale * S).state == fr.PAST_EXPECTED
    assert state_at(r, T0 + (fallback.running_stale + 1) * S).state == fr.LIKELY_STALE
