"""Many heartbeats in one transaction, each through the single heartbeat's own code path."""

from app.operations.lifecycle import apply_heartbeat, commit_kept, heartbeat_data, refused_report


def heartbeat_batch(reports, *, now, actor):
    """Apply ``reports`` ((run, processed, total, at) each, distinct runs) and commit once.

    Each report is written as ``lifecycle.heartbeat`` writes it; one the run refuses (it is
    completed, or not yet started) is kept as ``heartbeat`` keeps it, as a late report on a
    completed run. Returns, in order, None for each report taken and the LifecycleError of
    each refused one. A run's change-feed row is written once per report, so distinct runs
    give one live change each.
    """
    outcomes = []
    for run, processed, total, at in reports:
        if apply_heartbeat(run, now=now, actor=actor, processed=processed, total=total, at=at):
            outcomes.append(None)
        else:
            data = heartbeat_data(processed, total, at or now)
            outcomes.append(refused_report(run, "heartbeat", actor, now, data))
    commit_kept()
    return outcomes
