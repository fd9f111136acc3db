"""The one truth about freshness and problem class, in a Python form and a SQL form.

Both forms are derived from the same deadline rules (``_rules``/``_sql_rules``) and a
property test proves they agree. A rule trips strictly after its deadline:
``age > limit``. All datetimes are naive UTC.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from operator import attrgetter
from typing import NamedTuple

import sqlalchemy as sa

from app.models import OperationRun
from app.operations.durations import seconds_between

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


# --------------------------------------------------------------------------- SQL form


def _lit(*values):
    """Literal values: partial indexes on status/outcome only match literal SQL.

    Also used for operation type names: rendered into the statement, they cost no bound
    parameter (SQL quoting doubles any single quote).
    """
    return [sa.literal_column("'{}'".format(value.replace("'", "''"))) for value in values]


def active_clause(model=OperationRun):
    """Run is queued or running (rendered as a literal IN list)."""
    return model.status.in_(_lit("queued", "running"))


def _cutoff(seconds):
    """The instant ``now - seconds``: a parameter bound when the statement executes."""
    return sa.bindparam(f"cutoff_{int(seconds)}", type_=sa.DateTime, required=True)


def instant(policy, now):
    """The parameters of every SQL clause below at ``now``: pass them to ``execute``.

    The clauses are built once per policy (building them is the costly part: one branch
    per operation type) and hold no instant; each ``cutoff_<seconds>`` parameter is
    ``now - seconds``. A statement missing them fails loudly ("a value is required").
    """
    return {f"cutoff_{seconds}": now - timedelta(seconds=seconds) for seconds in _windows(policy)}


@lru_cache(maxsize=16)
def _windows(policy):
    """Every window (seconds) a clause of ``policy`` compares against."""
    windows = {policy.follow_up_window}
    for op_type in [*policy.types.values(), policy.for_type("\0unconfigured")]:
        grace = op_type.reconcile_grace
        for limit in (op_type.queued_expected, op_type.running_expected):
            windows.add(limit)
        for limit in (
            op_type.queued_stale,
            op_type.running_stale,
            op_type.heartbeat_stale,
            op_type.progress_stale,
        ):
            if limit is not None:
                windows.update((limit, limit + grace))
    return tuple(sorted(int(w) for w in windows))


def _sql_rules(model, op_type, extra=0, inclusive=False):
    """SQL form of ``_rules``: the run has passed some deadline by ``now - extra``."""

    def passed(column, limit):
        cutoff = _cutoff(limit + extra)
        # NULL must mean "not passed", never unknown: NOT(unknown) would hide the run.
        return sa.and_(column.is_not(None), column <= cutoff if inclusive else column < cutoff)

    queued = sa.and_(
        model.status == sa.literal_column("'queued'"),
        passed(model.created_at, op_type.queued_stale),
    )
    running = [passed(model.started_at, op_type.running_stale)]
    if op_type.heartbeat_stale is not None:
        running.append(passed(model.last_heartbeat_at, op_type.heartbeat_stale))
    if op_type.progress_stale is not None:
        progress_at = sa.func.coalesce(model.last_progress_at, model.started_at)
        running.append(passed(progress_at, op_type.progress_stale))
    return sa.or_(
        queued,
        sa.and_(model.status == sa.literal_column("'running'"), sa.or_(*running)),
    )


def _per_type(policy, build, model=OperationRun):
    """OR over configured types (plus the fallback for unconfigured ones) of ``build(type)``."""
    names = policy.names()
    branches = [sa.and_(model.type == _lit(name)[0], build(policy.types[name])) for name in names]
    fallback = policy.for_type("\0unconfigured")
    other = model.type.notin_(_lit(*names)) if names else sa.true()
    branches.append(sa.and_(other, build(fallback)))
    return sa.or_(*branches)


# Clauses are immutable and hold no instant (see ``instant``): build each once per policy.
_memo = lru_cache(maxsize=64)


@_memo
def likely_stale_clause(policy, model=OperationRun):
    """SQL: active and past some stale deadline."""
    return sa.and_(active_clause(model), _per_type(policy, lambda t: _sql_rules(model, t), model))


@_memo
def _past_expected_raw(policy, model):
    def build(op_type):
        return sa.or_(
            sa.and_(
                model.status == sa.literal_column("'queued'"),
                model.created_at < _cutoff(op_type.queued_expected),
            ),
            sa.and_(
                model.status == sa.literal_column("'running'"),
                model.started_at.is_not(None),
                model.started_at < _cutoff(op_type.running_expected),
            ),
        )

    return _per_type(policy, build, model)


@_memo
def past_expected_clause(policy, model=OperationRun):
    """SQL: active, past its expected window, not stale."""
    return sa.and_(
        active_clause(model),
        _past_expected_raw(policy, model),
        sa.not_(likely_stale_clause(policy, model)),
    )


def reconciled_clause(model=OperationRun):
    """SQL: completed by the reconciler."""
    return sa.and_(
        model.status == sa.literal_column("'completed'"), model.reconciled_at.is_not(None)
    )


@_memo
def freshness_case(policy, model=OperationRun):
    """SQL expression evaluating to the freshness state name."""
    return sa.case(
        (reconciled_clause(model), RECONCILED_FAILED),
        (model.status == sa.literal_column("'completed'"), TERMINAL),
        (likely_stale_clause(policy, model), LIKELY_STALE),
        (_past_expected_raw(policy, model), PAST_EXPECTED),
        else_=FRESH,
    )


@_memo
def follow_up_clause(policy, model=OperationRun):
    """SQL: completed within the follow-up window, failed or partially succeeded (or, for
    a type with ``running_min``, succeeded faster than it)."""
    needs = model.outcome.in_(_lit(*FOLLOW_UP_OUTCOMES))
    fast = _too_fast_clause(policy, model)
    return sa.and_(
        model.status == sa.literal_column("'completed'"),
        needs if fast is None else sa.or_(needs, fast),
        model.completed_at.is_not(None),
        model.completed_at >= _cutoff(policy.follow_up_window),
    )


def _too_fast_clause(policy, model):
    """SQL form of ``too_fast`` over the types that set ``running_min``; None when none
    does (the follow-up clause then stays the one its partial indexes serve)."""
    minimums = {n: t.running_min for n, t in policy.types.items() if t.running_min is not None}
    if not minimums:
        return None
    took = seconds_between(model.completed_at, model.started_at)
    per_type = [sa.and_(model.type == _lit(n)[0], took < m) for n, m in sorted(minimums.items())]
    return sa.and_(
        model.outcome == sa.literal_column("'succeeded'"),
        model.started_at.is_not(None),
        sa.or_(*per_type),
    )


def problem_class_clause(problem, policy, model=OperationRun):
    """SQL filter for one problem class."""
    if problem == ACTIVE_STALE_ATTENTION:
        return likely_stale_clause(policy, model)
    if problem == TERMINAL_FOLLOW_UP:
        return follow_up_clause(policy, model)
    if problem == NO_PROBLEM:
        return _no_problem_clause(policy, model)
    raise ValueError(f"unknown problem class {problem!r}")


@_memo
def _no_problem_clause(policy, model):
    return sa.and_(
        sa.not_(likely_stale_clause(policy, model)), sa.not_(follow_up_clause(policy, model))
    )


@_memo
def reconcile_due_clause(policy, model=OperationRun):
    """SQL: the reconciler may close the run (now >= stale_since + reconcile_grace)."""

    def build(op_type):
        grace = op_type.reconcile_grace
        return _sql_rules(model, op_type, extra=grace, inclusive=grace > 0)

    return sa.and_(active_clause(model), _per_type(policy, build, model))


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


def exceeded_clause(seconds, limit):
    """SQL form of ``exceeded``: ``seconds`` and ``limit`` are SQL expressions (NULL: off
    or unknown, never counted)."""
    return sa.and_(seconds.is_not(None), limit.is_not(None), seconds > limit)
