"""The detail page's view model: facts, decision truth, banner and timeline."""

from app.operations.freshness import freshness
from app.presenter.badges import DANGER, INFO, NEUTRAL, SUCCESS, WARNING
from app.presenter.banners import banner
from app.presenter.formatting import between, duration, time_view
from app.presenter.guidance import DETAIL, decision_truth, reconcile_why
from app.presenter.links import operations_url, safe_back
from app.presenter.runs import EventView, Fact, RunDetail, context_json, run_view

_EVENTS = {
    "created": ("Created", NEUTRAL),
    "started": ("Started", INFO),
    "heartbeat": ("Heartbeat", NEUTRAL),
    "progress": ("Progress", INFO),
    "completed": ("Completed", SUCCESS),
    "reconciled": ("Closed by the reconciler", DANGER),
    "late_report": ("Late report, kept (the run stays closed)", WARNING),
}


def _event_summary(event):
    data = event.data or {}
    if event.kind == "late_report":
        return f"A {data.get('report', 'worker')} report arrived after the run was completed."
    if event.kind == "reconciled":
        return data.get("message") or data.get("reason")
    if event.kind == "completed":
        parts = [str(data.get("outcome", "")).replace("_", " ")]
        if data.get("message"):
            parts.append(data["message"])
        return ": ".join(p for p in parts if p) or None
    if event.kind in ("progress", "heartbeat") and data.get("processed") is not None:
        total = data.get("total")
        return (
            f"{data['processed']:,} of {total:,} processed"
            if total
            else f"{data['processed']:,} processed"
        )
    if event.kind == "created" and data.get("initiator"):
        return f"By {data['initiator']}, {data.get('status', 'queued')}"
    return None


def event_view(event, now):
    """One timeline entry of ``event``."""
    label, tone = _EVENTS.get(event.kind, (event.kind.replace("_", " ").capitalize(), NEUTRAL))
    if event.kind == "completed" and (event.data or {}).get("outcome") in ("failed",):
        tone = DANGER
    return EventView(
        event.kind, label, tone, time_view(event.at, now), event.actor, _event_summary(event)
    )


def _facts(run, view, now):
    facts = [
        Fact("Type", view.type_label),
        Fact("Tenant", view.tenant_name or "Workspace-level"),
        Fact("Status", run.status.capitalize()),
        Fact("Outcome", run.outcome.replace("_", " ").capitalize()),
        Fact("Initiator", run.initiator or "Not recorded"),
        Fact("Created", time=time_view(run.created_at, now)),
        Fact(
            "Started",
            "Not started" if run.started_at is None else None,
            time_view(run.started_at, now),
        ),
    ]
    if run.completed_at is not None:
        facts.append(Fact("Completed", time=time_view(run.completed_at, now)))
    facts.append(
        Fact(
            "Queue wait",
            duration(between(run.created_at, run.started_at or run.completed_at or now)),
        )
    )
    if run.started_at is not None:
        facts.append(Fact("Run time", view.duration))
    facts.append(
        Fact(
            "Last heartbeat",
            "None reported" if run.last_heartbeat_at is None else None,
            time_view(run.last_heartbeat_at, now),
        )
    )
    if run.last_progress_at is not None:
        facts.append(Fact("Last progress", time=time_view(run.last_progress_at, now)))
    bar = view.progress
    facts.append(Fact("Progress", bar.text if bar else "Not reported"))
    if run.reconciled_at is not None:
        facts.append(Fact("Reconciled", time=time_view(run.reconciled_at, now)))
        facts.append(Fact("Reconciliation reason", reconcile_why(run).capitalize()))
    if run.failure_message and run.failure_message != run.reconciliation_message:
        facts.append(Fact("Message", run.failure_message))
    return tuple(facts)


def run_detail(run, events, *, policy, now, back=None):
    """The RunDetail of ``run`` (tenant loaded) with its ``events`` in order."""
    fresh = freshness(run, policy, now)
    view = run_view(run, policy=policy, now=now, density=DETAIL, fresh=fresh)
    return RunDetail(
        run=view,
        decision=decision_truth(run, fresh, now),
        banner=banner(run, fresh, now),
        facts=_facts(run, view, now),
        events=tuple(event_view(e, now) for e in events),
        events_text="1 event" if len(events) == 1 else f"{len(events)} events",
        context_json=context_json(run),
        back_url=safe_back(back) or operations_url(),
    )
