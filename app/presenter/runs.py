"""View models of runs: list rows, compact cards, the detail page, and API fields."""

import json
from dataclasses import dataclass

from app.operations.clock import isoformat
from app.operations.freshness import LIKELY_STALE, freshness, problem_class
from app.presenter.badges import DANGER, INFO, NEUTRAL, Badge, badge, emphasis
from app.presenter.banners import Banner
from app.presenter.formatting import TimeView, between, duration, plain, time_view
from app.presenter.guidance import CARD, ROW, DecisionTruth, guidance
from app.presenter.links import run_links, tenant_links


@dataclass(frozen=True)
class Progress:
    """Processed of total, with a percentage when the total is known."""

    processed: int
    total: int | None
    percent: int | None
    text: str
    tone: str = INFO


@dataclass(frozen=True)
class RunView:
    """One run as a row or a card shows it."""

    id: int
    type: str
    type_label: str
    tenant_name: str | None
    tenant_url: str | None
    status: str
    outcome: str
    is_active: bool
    freshness: str
    problem_class: str
    badge: Badge
    emphasis: str
    guidance: str
    progress: Progress | None
    created: TimeView
    duration: str | None
    url: str
    running_since: str | None = None


def progress(run, fresh=None):
    """The run's progress, or None when it reported none; red when stale, grey when over."""
    if run.processed is None and not run.total:
        return None
    processed = run.processed or 0
    tone = INFO
    if fresh is not None and not fresh.is_active:
        tone = NEUTRAL
    elif fresh is not None and fresh.state == LIKELY_STALE:
        tone = DANGER
    if run.total:
        percent = max(0, min(100, int(processed * 100 / run.total)))
        text = f"{processed:,} of {run.total:,} ({percent}%)"
        return Progress(processed, run.total, percent, text, tone)
    return Progress(processed, None, None, f"{processed:,} processed", tone)


def _duration(run, now):
    if run.status == "queued":
        return None
    return duration(between(run.started_at, run.completed_at or now))


def run_view(run, *, policy, now, density=ROW, back=None, fresh=None):
    """A RunView of ``run`` (a RunRead: its columns and its tenant's name)."""
    return _view(run, policy, now, density, run_links(back), tenant_links(), fresh)


def run_views(runs, *, policy, now, density=ROW, back=None):
    """RunViews for ``runs`` (RunReads) in order (the links of the page are prepared once)."""
    make = view_maker(policy=policy, now=now, density=density, back=back)
    return [make(r) for r in runs]


def view_maker(*, policy, now, density=ROW, back=None):
    """The function that makes one run's RunView for a page (its links prepared once)."""
    run_link, tenant_link = run_links(back), tenant_links()
    return lambda run: _view(run, policy, now, density, run_link, tenant_link, None)


def _view(run, policy, now, density, run_link, tenant_link, fresh):
    fresh = fresh or freshness(run, policy, now)
    return RunView(
        id=run.id,
        type=run.type,
        type_label=policy.for_type(run.type).label,
        tenant_name=run.tenant_name,
        tenant_url=tenant_link(run.tenant_uuid) if run.tenant_uuid else None,
        status=run.status,
        outcome=run.outcome,
        is_active=fresh.is_active,
        freshness=fresh.state,
        problem_class=problem_class(run, policy, now, fresh),
        badge=badge(run, fresh),
        emphasis=emphasis(fresh),
        guidance=guidance(run, fresh, now, density),
        progress=progress(run, fresh),
        created=time_view(run.created_at, now),
        duration=_duration(run, now),
        url=run_link(run.id),
        running_since=isoformat(run.started_at)
        if run.status == "running" and run.started_at
        else None,
    )


def api_fields(run, fresh, now):
    """The presenter's fields for a run's JSON: ``badge`` (label, tone, icon) and ``guidance``."""
    words = plain(guidance(run, fresh, now, CARD))
    return {"badge": badge(run, fresh).as_dict(), "guidance": words}


@dataclass(frozen=True)
class Fact:
    """One labelled fact of the detail page; ``time`` set for instants."""

    label: str
    text: str | None = None
    time: TimeView | None = None


@dataclass(frozen=True)
class EventView:
    """One timeline entry."""

    kind: str
    label: str
    tone: str
    at: TimeView
    actor: str
    summary: str | None
    id: int | None = None


@dataclass(frozen=True)
class RunDetail:
    """Everything the detail page shows."""

    run: RunView
    decision: DecisionTruth
    banner: Banner | None
    facts: tuple
    events: tuple
    events_text: str
    context_json: str | None
    back_url: str
    older_events_url: str | None = None
    newest_events_url: str | None = None
    omitted: tuple = ()
    message: str | None = None


def context_json(run):
    """The run's context as indented JSON, or None when empty."""
    if not run.context:
        return None
    return json.dumps(run.context, indent=2, sort_keys=True, default=str)
