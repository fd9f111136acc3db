"""Runs and their timelines as JSON, with the one freshness truth attached."""

from app.operations.clock import isoformat
from app.operations.freshness import freshness, problem_class
from app.presenter import api_fields


def tenant_to_json(run):
    """The tenant reference of ``run`` (a RunRead), or None for a workspace-level run."""
    if run.tenant_id is None:
        return None
    return {
        "id": run.tenant_id,
        "uuid": run.tenant_uuid,
        "slug": run.tenant_slug,
        "name": run.tenant_name,
    }


def run_to_json(run, policy, now):
    """A run (a RunRead) as the API shows it at ``now``."""
    fresh = freshness(run, policy, now)
    data = {
        "id": run.id,
        "workspace_id": run.workspace_id,
        "tenant": tenant_to_json(run),
        "type": run.type,
        "type_label": policy.for_type(run.type).label,
        "status": run.status,
        "outcome": run.outcome,
        "created_at": isoformat(run.created_at),
        "started_at": isoformat(run.started_at),
        "completed_at": isoformat(run.completed_at),
        "last_heartbeat_at": isoformat(run.last_heartbeat_at),
        "last_progress_at": isoformat(run.last_progress_at),
        "processed": run.processed,
        "total": run.total,
        "initiator": run.initiator,
        "context": run.context,
        "failure_message": run.failure_message,
        "reconciled_at": isoformat(run.reconciled_at),
        "reconciliation_reason": run.reconciliation_reason,
        "reconciliation_message": run.reconciliation_message,
        "freshness": fresh.state,
        "problem_class": problem_class(run, policy, now, fresh),
        "stale_reason": fresh.stale_reason,
        "stale_since": isoformat(fresh.stale_since),
        "reconcile_at": isoformat(fresh.reconcile_at),
        "next_transition_at": isoformat(fresh.next_transition_at),
    }
    data.update(api_fields(run, fresh, now))
    return data


def event_to_json(event):
    """One timeline entry."""
    return {
        "id": event.id,
        "kind": event.kind,
        "at": isoformat(event.at),
        "actor": event.actor,
        "data": event.data,
    }


def timeline_to_json(page):
    """A timeline page (``operations.timeline``): its events newest first, the cursor of
    the older ones, the total and the reports counted instead of kept."""
    return {
        "events": [event_to_json(event) for event in page.events],
        "events_next": page.older,
        "events_total": page.total,
        "events_omitted": {
            item.kind: {"count": item.count, "last_at": isoformat(item.last_at)}
            for item in page.omitted
        },
    }
