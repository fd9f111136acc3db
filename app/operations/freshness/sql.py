"""The one truth about freshness and problem class, SQL form: clauses over many runs.

Each clause is the SQL form of a rule in ``rule.py`` (``_sql_rules`` of ``_rules``), built
once per policy and holding no instant: ``instant(policy, now)`` supplies it when a
statement executes.
"""

from datetime import timedelta
from functools import lru_cache

import sqlalchemy as sa

from app.models import OperationRun
from app.operations.durations import least, seconds_between
from app.operations.freshness.rule import (
    ACTIVE_STALE_ATTENTION,
    FOLLOW_UP_OUTCOMES,
    FRESH,
    LIKELY_STALE,
    NO_PROBLEM,
    PAST_EXPECTED,
    RECONCILED_FAILED,
    TERMINAL,
    TERMINAL_FOLLOW_UP,
)
from app.operations.plan_hints import no_index_range


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
def follow_up_clause(policy, model=OperationRun, in_list_order=False):
    """SQL: completed within the follow-up window, failed or partially succeeded (or, for
    a type with ``running_min``, succeeded faster than it).

    ``in_list_order``: for a statement reading runs newest first, the window is written so
    that SQLite does not read it as an index range (``plan_hints.no_index_range``): the
    follow-ups are then read in list order, not the whole window sorted."""
    needs = model.outcome.in_(_lit(*FOLLOW_UP_OUTCOMES))
    fast = _too_fast_clause(policy, model)
    completed_at = no_index_range(model.completed_at) if in_list_order else model.completed_at
    return sa.and_(
        model.status == sa.literal_column("'completed'"),
        needs if fast is None else sa.or_(needs, fast),
        model.completed_at.is_not(None),
        completed_at >= _cutoff(policy.follow_up_window),
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


def problem_class_clause(problem, policy, model=OperationRun, in_list_order=False):
    """SQL filter for one problem class (``in_list_order``: see ``follow_up_clause``)."""
    if problem == ACTIVE_STALE_ATTENTION:
        return likely_stale_clause(policy, model)
    if problem == TERMINAL_FOLLOW_UP:
        return follow_up_clause(policy, model, in_list_order)
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


def last_sign(model=OperationRun):
    """SQL: a run's last sign of life (its last heartbeat, else its start, else creation)."""
    return sa.func.coalesce(model.last_heartbeat_at, model.started_at, model.created_at)


def _stale_after(model, op_type, since):
    """``_rules`` of the run's active twin (running once started, else queued): seconds
    from ``since`` to the first deadline."""

    def after(column, limit):
        return seconds_between(column, since) + limit

    lifecycle = after(model.started_at, op_type.running_stale)
    running = [lifecycle]
    if op_type.heartbeat_stale is not None:  # no heartbeat yet: that rule does not exist
        running.append(
            sa.func.coalesce(after(model.last_heartbeat_at, op_type.heartbeat_stale), lifecycle)
        )
    if op_type.progress_stale is not None:
        progress_at = sa.func.coalesce(model.last_progress_at, model.started_at)
        running.append(after(progress_at, op_type.progress_stale))
    return sa.case(
        (model.started_at.is_(None), after(model.created_at, op_type.queued_stale)),
        else_=running[0] if len(running) == 1 else least(*running),
    )


def stale_after_sign(policy, model=OperationRun):
    """SQL form of ``upcoming_stale_at`` for a completed run as if it were still active
    (running once started, else queued): seconds from its ``last_sign`` until the one
    truth showed it likely stale."""
    since = last_sign(model)
    names = policy.names()
    whens = [(model.type == _lit(n)[0], _stale_after(model, policy.types[n], since)) for n in names]
    fallback = _stale_after(model, policy.for_type("\0unconfigured"), since)
    return sa.case(*whens, else_=fallback) if whens else fallback


def exceeded_clause(seconds, limit):
    """SQL form of ``exceeded``: ``seconds`` and ``limit`` are SQL expressions (NULL: off
    or unknown, never counted)."""
    return sa.and_(seconds.is_not(None), limit.is_not(None), seconds > limit)
