"""The auditable message the reconciler stores on every run it closes (SPEC 2 and 6).

Written once, with the closing: the rule that tripped, its setting, what was observed and
when, the grace and the pass. The pages show it as recorded.
"""

from app.humanize import duration
from app.operations.clock import isoformat
from app.operations.freshness import LIFECYCLE_EXCEEDED, NEVER_STARTED, NO_HEARTBEAT, NO_PROGRESS

# The policy setting behind each stale reason, named in the audit message.
RULE_SETTINGS = {
    NEVER_STARTED: "queued_stale",
    NO_HEARTBEAT: "heartbeat_stale",
    NO_PROGRESS: "progress_stale",
    LIFECYCLE_EXCEEDED: "running_stale",
}
HEADLINES = {
    NEVER_STARTED: "queued without starting for more than {limit}",
    NO_HEARTBEAT: "no heartbeat for more than {limit}",
    NO_PROGRESS: "no progress for more than {limit}",
    LIFECYCLE_EXCEEDED: "running for more than {limit}",
}


def describe(run, state, now, pass_id):
    """(reconciliation_reason, auditable message) for a likely stale ``run``."""
    rule = state.tripped_rule
    limit = f"{duration(rule.limit)} ({RULE_SETTINGS[rule.reason]} = {rule.limit} s)"
    grace = (state.reconcile_at - state.stale_since).total_seconds()
    observed = [f"created {isoformat(run.created_at)}"]
    observed.append(f"started {isoformat(run.started_at)}" if run.started_at else "never started")
    if run.status == "running":
        observed.append(f"last heartbeat {isoformat(run.last_heartbeat_at) or 'none'}")
        observed.append(f"last progress {isoformat(run.last_progress_at) or 'none'}")
    message = (
        f"Closed as failed by the reconciler: {HEADLINES[rule.reason].format(limit=limit)}. "
        f"Observed: {', '.join(observed)}. "
        f"Likely stale since {isoformat(state.stale_since)}; closed at {isoformat(now)} "
        f"after a reconcile grace of {duration(grace)}. Reconciler pass {pass_id}."
    )
    return f"stale_{rule.reason}", message
