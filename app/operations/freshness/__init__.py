"""The one truth about freshness and problem class, in a Python form and a SQL form.

``rule`` judges one run at one instant; ``sql`` filters and classifies many runs in the
database. Both derive from the same deadline rules, and a property test proves they agree.
Callers import from here.
"""

from app.operations.freshness.rule import (  # noqa: F401
    ACTIVE_STALE_ATTENTION,
    FOLLOW_UP_OUTCOMES,
    FRESH,
    FRESHNESS_STATES,
    HISTORY_MEASURES,
    LIFECYCLE_EXCEEDED,
    LIKELY_STALE,
    NEVER_STARTED,
    NO_HEARTBEAT,
    NO_PROBLEM,
    NO_PROGRESS,
    PAST_EXPECTED,
    PROBLEM_CLASSES,
    RECONCILED_FAILED,
    STALE_REASONS,
    TERMINAL,
    TERMINAL_FOLLOW_UP,
    TICK,
    Freshness,
    Rule,
    exceeded,
    freshness,
    problem_class,
    too_fast,
    upcoming_stale_at,
)
from app.operations.freshness.sql import (  # noqa: F401
    _lit,
    active_clause,
    exceeded_clause,
    follow_up_clause,
    freshness_case,
    instant,
    last_sign,
    likely_stale_clause,
    past_expected_clause,
    problem_class_clause,
    reconcile_due_clause,
    reconciled_clause,
    stale_after_sign,
)
