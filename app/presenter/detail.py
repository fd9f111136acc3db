"""The detail page's view model: facts, decision truth, banner and timeline."""

from urllib.parse import urlencode

from app.operations.freshness import LIKELY_STALE, freshness
from app.presenter.badges import DANGER, INFO, NEUTRAL, SUCCESS, WARNING
from app.presenter.banners import banner
from app.presenter.formatting import aging, between, duration, time_view
from app.presenter.guidance import DETAIL, decision_truth, reconcile_why
from app.presenter.links import operations_url, run_links, safe_back
from app.presenter.runs import EventView, Fact, RunDetail, context_json, run_view

_EVENTS = {
    "created": ("Created", NEUTRAL),
    "started": ("Started", INFO),
    "heartbeat": ("Heartbeat", NEUTRAL),
    "progress": ("Progress", INFO),
    "completed": ("Completed", SUCCESS),
    "reconciled": ("Closed by the reconciler", DANGER),
    "late_report": ("Late report, kept (the run stays closed)", WARNING),
    "progress_regression": ("Lower progress reported, kept", WARNING),
}
# What a run counted instead of keeping: (one, many).
_OMITTED = {
    "late_report": ("late report", "late reports"),
    "progress_regression": ("lower progress report", "lower progress reports"),
}


SHOWN_ABOVE = "the message is shown above"


def _event_summary(event, shown=None):
    data = event.data or {}
    message = data.get("message")
    if message and message == shown:
        message = SHOWN_ABOVE
    if event.kind == "late_report":
        return f"A {data.get('report', 'worker')} report arrived after the run was completed."
    if event.kind == "progress_regression":
        return (
            f"{data.get('reported', 0):,} processed reported; {data.get('kept', 0):,} "
            "kept (progress never goes back)"
        )
    if event.kind == "reconciled":
        return sentence_case(message) if message else data.get("reason")
    if event.kind == "completed":
        parts = [str(data.get("outcome", "")).replace("_", " ")]
        if message:
            parts.append(message)
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


def sentence_case(text):
    """``text`` with its first letter in upper case."""
    return text[:1].upper() + text[1:]


def event_view(event, now, shown=None):
    """One timeline entry of ``event`` (``shown``: the message the page already shows,
    which the entry then names instead of repeating)."""
    label, tone = _EVENTS.get(event.kind, (event.kind.replace("_", " ").capitalize(), NEUTRAL))
    if event.kind == "completed" and (event.data or {}).get("outcome") in ("failed",):
        tone = DANGER
    at = time_view(event.at, now)
    summary = _event_summary(event, shown)
    return EventView(event.kind, label, tone, at, event.actor, summary, event.id)


def _status_text(run, fresh):
    if fresh.state == LIKELY_STALE:
        return f"{run.status.capitalize()} as last reported; not heard from within its limits"
    return run.status.capitalize()


def page_message(run):
    """The one message the detail page shows: the worker's, else the reconciler's."""
    return (run.failure_message or "").strip() or (run.reconciliation_message or "").strip() or None


def _counting(start, end, now):
    """From ``start`` to ``end``; while ``end`` is unknown, up to now in a span that keeps
    counting on the page (``aging``), never a duration frozen at the render."""
    if end is not None:
        return duration(between(start, end))
    return aging(between(start, now), now)


def _facts(run, view, now, fresh):
    facts = [
        Fact("Type", view.type_label),
        Fact("Tenant", view.tenant_name or "Workspace-level"),
        Fact("Status", _status_text(run, fresh)),
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
        Fact("Queue wait", _counting(run.created_at, run.started_at or run.completed_at, now))
    )
    if run.started_at is not None:
        facts.append(Fact("Run time", _counting(run.started_at, run.completed_at, now)))
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
    return tuple(facts)


def run_detail(run, timeline, *, policy, now, back=None):
    """The RunDetail of ``run`` (a RunRead) with one page of its timeline
    (``operations.timeline.TimelinePage``, newest first)."""
    fresh = freshness(run, policy, now)
    view = run_view(run, policy=policy, now=now, density=DETAIL, fresh=fresh)
    back = safe_back(back)
    shown = banner(run, fresh, now)
    message = page_message(run)
    return RunDetail(
        run=view,
        decision=decision_truth(run, fresh, now, banner_shown=shown is not None),
        banner=shown,
        facts=_facts(run, view, now, fresh),
        events=tuple(event_view(e, now, message) for e in timeline.events),
        message=message,
        events_text=_events_text(timeline),
        context_json=context_json(run),
        back_url=back or operations_url(),
        older_events_url=_timeline_url(run.id, back, timeline.older) if timeline.older else None,
        newest_events_url=None if timeline.newest else run_links(back)(run.id),
        omitted=tuple(_omitted_text(item, now) for item in timeline.omitted),
    )


def _events_text(timeline):
    total = timeline.total
    if timeline.newest and timeline.older is None:
        return "1 event" if total == 1 else f"{total:,} events"
    if timeline.newest:
        return f"The {len(timeline.events):,} newest of {total:,} events"
    return f"{len(timeline.events):,} older events of {total:,}"


def _timeline_url(run_id, back, before):
    url = run_links(back)(run_id)
    return f"{url}{'&' if '?' in url else '?'}{urlencode({'events_before': before})}"


def _omitted_text(item, now):
    one, many = _OMITTED.get(item.kind, (item.kind.replace("_", " "),) * 2)
    noun = one if item.count == 1 else many
    last = time_view(item.last_at, now)
    when = f", the last at {last.clock}" if last else ""
    return f"{item.count:,} more {noun} arrived{when}: counted, not listed."
