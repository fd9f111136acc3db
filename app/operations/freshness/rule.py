"""The one truth about freshness and problem class, Python form: one run at one instant.

A rule trips strictly after its deadline: ``age > limit``. All datetimes are naive UTC.
The SQL form (``sql.py``) is derived from the same deadline rules; a property test proves
the two agree.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import attrgetter
from typing import NamedTuple

FRESH = "fresh"
PAST_EXPECTED = "past_expected"
LIKELY_STALE = "likely_stale"
TERMINAL = "terminal"
RECONCILED_FAILED = "reconciled_failed"
FRESHNESS_STATES = (FRESH, PAST_EXPECTED, LIKELY_STALE, TERMINAL, RECONCILED_FAILED)

NEVER_STARTED = "never_started"
NO_HEARTBEAT = "no_heartbeat"
NO_PROGRESS = "no_progress"
LIFECYCLE_EXCEEDED = "lifecycle_exceeded"
STALE_REASONS = (NEVER_STARTED, NO_HEARTBEAT, NO_PROGRESS, LIFECYCLE_EXCEEDED)

ACTIVE_STALE_ATTENTION = "active_stale_attention"
TERMINAL_FOLLOW_UP = "terminal_follow_up"
NO_PROBLEM = "none"
PROBLEM_CLASSES = (ACTIVE_STALE_ATTENTION, TERMINAL_FOLLOW_UP, NO_PROBLEM)
FOLLOW_UP_OUTCOMES = ("failed", "partially_succeeded")

# The smallest step of stored time: a rule's state changes one tick after its deadline.
TICK = timedelta(microseconds=1)


class Rule(NamedTuple):
    """One deadline: the run is stale by ``reason`` once now > ``deadline``.

    ``deadline`` is ``observed_at + limit``; build rules with ``Rule.at``.
    """

    reason: str
    observed_at: datetime
    limit: int
    deadline: datetime

    @classmethod
    def at(cls, reason, observed_at, limit):
        return cls(reason, observed_at, limit, observed_at + timedelta(seconds=limit))


@dataclass(frozen=True)
class Freshness:
    """Everything the product says about a run's liveness at one instant."""

    state: str
    stale_reason: str | None = None
    stale_since: datetime | None = None
    reconcile_at: datetime | None = None
    next_transition_at: datetime | None = None
    age_seconds: float | None = None
    expected_seconds: int | None = None
    stale_seconds: int | None = None
    tripped_rule: Rule | None = None
    heartbeat_silence_seconds: float | None = None
    progress_silence_seconds: float | None = None

    @property
    def is_active(self):
        return self.state in (FRESH, PAST_EXPECTED, LIKELY_STALE)

    def reconcile_due(self, now):
        """Whether the reconciler may close the run at ``now`` (its grace has passed)."""
        return self.reconcile_at is not None and now >= self.reconcile_at


def _rules(run, op_type):
    """Deadline rules of an active run, in tie-break order."""
    if run.status == "queued":
        return [Rule.at(NEVER_STARTED, run.created_at, op_type.queued_stale)]
    rules = []
    if op_type.heartbeat_stale is not None and run.last_heartbeat_at is not None:
        rules.append(Rule.at(NO_HEARTBEAT, run.last_heartbeat_at, op_type.heartbeat_stale))
    if op_type.progress_stale is not None:
        rules.append(
            Rule.at(NO_PROGRESS, run.last_progress_at or run.started_at, op_type.progress_stale)
        )
    rules.append(Rule.at(LIFECYCLE_EXCEEDED, run.started_at, op_type.running_stale))
    return rules


def _age_start(run):
    return run.created_at if run.status == "queued" else run.started_at


def _expected(op_type, status):
    if status == "queued":
        return op_type.queued_expected, op_type.queued_stale
    return op_type.running_expected, op_type.running_stale


_DEADLINE = attrgetter("deadline")

# A completed run's freshness says nothing but its state: one shared value each.
_COMPLETED = Freshness(TERMINAL)
_RECONCILED = Freshness(RECONCILED_FAILED)


def freshness(run, policy, now):
    """The freshness of ``run`` at ``now`` under ``policy``."""
    if run.status == "completed":
        return _COMPLETED if run.reconciled_at is None else _RECONCILED
    op_type = policy.for_type(run.type)
    expected, stale = _expected(op_type, run.status)
    start = _age_start(run)
    age = (now - start).total_seconds()
    first = min(_rules(run, op_type), key=_DEADLINE)
    stale_since = first.deadline
    expected_at = start + timedelta(seconds=expected)
    common = dict(
        age_seconds=age,
        expected_seconds=expected,
        stale_seconds=stale,
        heartbeat_silence_seconds=_silence(now, run.last_heartbeat_at),
        progress_silence_seconds=_progress_silence(run, op_type, now),
    )
    if now > stale_since:
        return Freshness(
            LIKELY_STALE,
            stale_reason=first.reason,
            stale_since=stale_since,
            reconcile_at=stale_since + timedelta(seconds=op_type.reconcile_grace),
            tripped_rule=first,
            **common,
        )
    if now > expected_at:
        return Freshness(PAST_EXPECTED, next_transition_at=stale_since + TICK, **common)
    return Freshness(FRESH, next_transition_at=min(expected_at, stale_since) + TICK, **common)


def _silence(now, at):
    return None if at is None else (now - at).total_seconds()


def _progress_silence(run, op_type, now):
    if run.status != "running" or op_type.progress_stale is None:
        return None
    return _silence(now, run.last_progress_at or run.started_at)


def upcoming_stale_at(run, policy):
    """For an active run, the deadline after which it will be likely stale (None if completed)."""
    if run.status == "completed":
        return None
    return min(rule.deadline for rule in _rules(run, policy.for_type(run.type)))


def too_fast(run, op_type):
    """Whether ``run`` succeeded in less than its type's ``running_min`` (strictly)."""
    return (
        op_type.running_min is not None
        and run.outcome == "succeeded"
        and run.started_at is not None
        and run.completed_at is not None
        and run.completed_at - run.started_at < timedelta(seconds=op_type.running_min)
    )


def problem_class(run, policy, now, fresh=None):
    """``active_stale_attention``, ``terminal_follow_up`` or ``none``.

    A run completed in the follow-up window needs a follow-up when it failed, partially
    succeeded, or succeeded faster than its type's ``running_min``. ``fresh`` is the run's
    ``freshness`` at ``now`` when the caller has it already.
    """
    if run.status == "completed":
        needs = run.outcome in FOLLOW_UP_OUTCOMES or too_fast(run, policy.for_type(run.type))
        if needs and run.completed_at is not None:
            window = timedelta(seconds=policy.follow_up_window)
            if run.completed_at >= now - window:
                return TERMINAL_FOLLOW_UP
        return NO_PROBLEM
    if (fresh or freshness(run, policy, now)).state == LIKELY_STALE:
        return ACTIVE_STALE_ATTENTION
    return NO_PROBLEM


# ------------------------------------------------------------- history of completed runs

# A completed run was shown likely stale while it was active when one of its measures
# (seconds) passed the window: its queue wait (``never_started``, from creation), its run
# time (``lifecycle_exceeded``, from the start), its longest silence between heartbeats
# (``no_heartbeat``: only once it had one) or between progress steps (``no_progress``,
# from the start). The runs keep the two silences at report time (migration 0010).
HISTORY_MEASURES = {
    "queued_stale": "queue_wait",
    "running_stale": "run_time",
    "heartbeat_stale": "heartbeat_gap",
    "progress_stale": "progress_gap",
}


def exceeded(seconds, limit):
    """Whether a measure of ``seconds`` trips a window of ``limit`` (None: the check is
    off, or the measure is unknown): strictly past it, as every rule above."""
    return limit is not None and seconds is not None and seconds > limit
