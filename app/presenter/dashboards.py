"""View models of the overview, the tenant dashboard widgets and the overlay."""

from dataclasses import dataclass

from app.operations import freshness as fr
from app.presenter.badges import DANGER, NEUTRAL, WARNING
from app.presenter.banners import AttentionCounts, AttentionSummary, attention_summary
from app.presenter.formatting import TimeView, time_view, window
from app.presenter.guidance import CARD
from app.presenter.links import operations_url, stale_cta_url
from app.presenter.runs import run_views

OVERLAY_POLL_ACTIVE = 5
OVERLAY_POLL_IDLE = 30


def active_hint(activity):
    """The hint under an Active figure: how many run long, or that all are on track."""
    if activity.past_expected:
        return f"{activity.past_expected} running longer than expected"
    if activity.active and not activity.likely_stale:
        return "all on track"
    return "queued or running"


def summary_of(activity):
    """The attention summary of an Activity."""
    return attention_summary(
        AttentionCounts(activity.active, activity.past_expected, activity.likely_stale)
    )


@dataclass(frozen=True)
class Kpi:
    """One number with its label, tone, hint and the list view behind it."""

    key: str
    label: str
    value: int
    tone: str
    hint: str
    url: str


def stale_hint(activity):
    """The hint under a Likely stale figure: only claims what the counts show."""
    if activity.likely_stale:
        return "will be closed as failed unless they report"
    if activity.active:
        return "every active run is reporting"
    return "no run is queued or running"


def tenant_kpis(activity, tenant_id, follow_up_window):
    """The tenant dashboard's KPIs: active, running long, likely stale, follow-up in 24 h
    (the same windows and words as the overview's cards and totals)."""
    return (
        Kpi(
            "active",
            "Active",
            activity.active,
            NEUTRAL,
            active_hint(activity),
            operations_url(tenant_id=tenant_id, activeTab="active"),
        ),
        Kpi(
            "past_expected",
            "Running long",
            activity.past_expected,
            WARNING if activity.past_expected else NEUTRAL,
            "still within their window" if activity.past_expected else "none",
            operations_url(tenant_id=tenant_id, activeTab="active"),
        ),
        Kpi(
            "likely_stale",
            "Likely stale",
            activity.likely_stale,
            DANGER if activity.likely_stale else NEUTRAL,
            stale_hint(activity),
            stale_cta_url(tenant_id),
        ),
        Kpi(
            "follow_up_24h",
            "Follow-up, last 24 h",
            activity.follow_up_24h,
            WARNING if activity.follow_up_24h else NEUTRAL,
            f"failed or partial · {activity.follow_up} in the last {window(follow_up_window)}, "
            "as on the overview",
            operations_url(tenant_id=tenant_id, activeTab=fr.TERMINAL_FOLLOW_UP),
        ),
    )


def workspace_totals(activity, follow_up_window):
    """The overview's totals, each linking to the canonical list tab."""
    return (
        Kpi(
            "active",
            "Active",
            activity.active,
            NEUTRAL,
            "queued or running, every visible tenant",
            operations_url(activeTab="active"),
        ),
        Kpi(
            "likely_stale",
            "Likely stale",
            activity.likely_stale,
            DANGER if activity.likely_stale else NEUTRAL,
            "need attention" if activity.likely_stale else stale_hint(activity),
            operations_url(activeTab=fr.ACTIVE_STALE_ATTENTION),
        ),
        Kpi(
            "past_expected",
            "Running long",
            activity.past_expected,
            WARNING if activity.past_expected else NEUTRAL,
            "still within their window" if activity.past_expected else "none",
            operations_url(activeTab="active"),
        ),
        Kpi(
            "follow_up",
            "Follow-up",
            activity.follow_up,
            WARNING if activity.follow_up else NEUTRAL,
            f"failed or partial, last {window(follow_up_window)}",
            operations_url(activeTab=fr.TERMINAL_FOLLOW_UP),
        ),
    )


@dataclass(frozen=True)
class NeedsAttention:
    """Likely stale runs first, then follow-ups, with their totals and list links."""

    stale: list
    stale_total: int
    stale_url: str
    follow_ups: list
    follow_up_total: int
    follow_up_url: str
    follow_up_window: str
    active_total: int = 0


def needs_attention(stale, follow_ups, activity, tenant, *, policy, now):
    """The Needs attention widget of ``tenant``."""
    views = dict(policy=policy, now=now, density=CARD)
    return NeedsAttention(
        stale=run_views(stale, **views),
        stale_total=activity.likely_stale,
        stale_url=stale_cta_url(tenant.id),
        follow_ups=run_views(follow_ups, **views),
        follow_up_total=activity.follow_up,
        follow_up_url=operations_url(tenant_id=tenant.id, activeTab=fr.TERMINAL_FOLLOW_UP),
        follow_up_window=window(policy.follow_up_window),
        active_total=activity.active,
    )


@dataclass(frozen=True)
class TypeRow:
    """One line of the per-type summary."""

    label: str
    total: int
    succeeded: int
    partially_succeeded: int
    failed: int
    cancelled: int
    reconciled: int
    active: int
    likely_stale: int
    success_rate: str
    url: str


def type_rows(summaries, tenant_id, *, policy):
    """Per-type summary rows, labelled by the policy."""
    rows = []
    for s in summaries:
        finished = s.succeeded + s.partially_succeeded + s.failed + s.cancelled
        rate = f"{round(100 * s.succeeded / finished)}%" if finished else "—"
        rows.append(
            TypeRow(
                policy.for_type(s.type).label,
                s.total,
                s.succeeded,
                s.partially_succeeded,
                s.failed,
                s.cancelled,
                s.reconciled,
                s.active,
                s.likely_stale,
                rate,
                operations_url(tenant_id=tenant_id, type=s.type),
            )
        )
    return rows


@dataclass(frozen=True)
class Overlay:
    """The active operations overlay of a tenant."""

    tenant_uuid: str
    src: str
    summary: AttentionSummary
    items: list
    more: int
    more_url: str
    poll_seconds: int
    updated: TimeView


def overlay(tenant, runs, activity, *, policy, now, src):
    """The overlay: every active run (stale ones first), "+N more", a header summary."""
    items = run_views(runs, policy=policy, now=now, density=CARD)
    return Overlay(
        tenant_uuid=tenant.uuid,
        src=src,
        summary=summary_of(activity),
        items=items,
        more=max(0, activity.active - len(items)),
        more_url=operations_url(tenant_id=tenant.id, activeTab="active"),
        poll_seconds=OVERLAY_POLL_ACTIVE if activity.active else OVERLAY_POLL_IDLE,
        updated=time_view(now, now),
    )
