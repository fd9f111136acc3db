"""Closing runs for the reconciler: one run or a batch, each only if still due."""

from app.operations.store import run_store


def _closed(now):
    """What closing a run writes besides its words and its one more event (see
    ``RunStore.close_listed``)."""
    return {"status": "completed", "outcome": "failed", "completed_at": now, "reconciled_at": now}


def reconcile_run(run, *, policy, now, reason, message, pass_id):
    """Close ``run`` as failed if it is still due for reconciliation; does not commit.

    The UPDATE re-checks the shared SQL truth, so a run that reported in the meantime,
    or that another pass already closed, is left alone. Returns whether it was closed.
    """
    return bool(reconcile_runs([(run, reason, message)], policy=policy, now=now, pass_id=pass_id))


def reconcile_runs(closures, *, policy, now, pass_id):
    """Close many runs at once, each only if it is still due; does not commit.

    ``closures`` is a list of (run, reason, message); a run is anything with ``id``,
    ``workspace_id`` and ``tenant_id``. One UPDATE closes the listed runs that the shared
    SQL truth, checked on the updated row itself, still says are due, writes each its own
    words, and returns the ids it closed; only those get a ``reconciled`` event and a
    change-feed row (one INSERT each). Returns the closed ids.
    """
    if not closures:
        return []
    by_id = {run.id: (run, reason, message) for run, reason, message in closures}
    store = run_store()
    closed = store.close_listed(by_id, _closed(now), policy, now)
    if not closed:
        return []
    events = [
        (i, "reconciled", "reconciler", _words(by_id[i][1], by_id[i][2], pass_id)) for i in closed
    ]
    store.add_events_at(events, now)
    store.record_changes([by_id[i][0] for i in closed], now)
    return closed


def _words(reason, message, pass_id):
    return {"reason": reason, "message": message, "pass_id": pass_id}
