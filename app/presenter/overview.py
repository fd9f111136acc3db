"""View models of the overview's tenants: honest cards, severity order, filter and views."""

from dataclasses import dataclass

from markupsafe import Markup

from app.operations import freshness as fr
from app.operations.reads import Activity
from app.presenter.badges import DANGER, NEUTRAL, SUCCESS, WARNING, Badge
from app.presenter.banners import AttentionSummary
from app.presenter.dashboards import summary_of
from app.presenter.formatting import aging, ago, window
from app.presenter.links import overview_url, stale_cta_url, tenant_operations_url, tenant_url

CARDS, TABLE = "cards", "table"
VIEWS = (CARDS, TABLE)

# Severity order of the overview: likely stale, then late, then follow-ups, then quiet.
# The compact table says the same in fewer words, so 60+ tenants fit on one screen.
_STATES = {
    "likely_stale": (0, Badge("Likely stale runs", DANGER, "alert"), "Likely stale"),
    "past_expected": (1, Badge("Running long", WARNING, "hourglass"), "Running long"),
    "follow_up": (2, Badge("Needs follow-up", WARNING, "half"), "Follow-up"),
    "healthy": (3, Badge("Healthy", SUCCESS, "check"), "Healthy"),
    "never_reported": (4, Badge("No runs reported yet", NEUTRAL, "dot"), "No runs yet"),
}
# The compact table splits into side-by-side tables of at most this many rows (three fit
# next to each other at 1440 px, 22 rows of them under the page head at 900 px).
TABLE_ROWS, MAX_TABLES = 22, 4
PROBLEM_STATES = ("likely_stale", "past_expected", "follow_up")


@dataclass(frozen=True)
class TenantCard:
    """One tenant on the overview, with the evidence behind its state."""

    uuid: str
    name: str
    url: str
    state: str
    rank: int
    badge: Badge
    short_badge: Badge
    summary: AttentionSummary
    activity: Activity
    reported: Markup
    reported_short: Markup
    list_url: str
    stale_url: str
    follow_up_url: str

    @property
    def has_problem(self):
        """Likely stale, late or needing follow-up."""
        return self.state in PROBLEM_STATES


def _state(activity, last_at):
    if activity.likely_stale:
        return "likely_stale"
    if activity.past_expected:
        return "past_expected"
    if activity.follow_up:
        return "follow_up"
    return "healthy" if last_at is not None else "never_reported"


def _reported(activity, last_at, now):
    if last_at is None:
        return Markup("No runs reported yet")
    if activity.active:
        return Markup("Last run reported {}").format(ago(last_at, now))
    quiet = aging((now - last_at).total_seconds(), now)
    return Markup("Quiet for {}: last run reported {}").format(quiet, ago(last_at, now))


def _reported_short(last_at, now):
    return Markup("never") if last_at is None else ago(last_at, now)


def tenant_card(tenant, activity, last_at, now):
    """A TenantCard: likely stale, running long, needing follow-up, healthy, or never
    reported (``last_at``: when its newest run was reported, None if never)."""
    state = _state(activity, last_at)
    rank, badge, short = _STATES[state]
    return TenantCard(
        uuid=tenant.uuid,
        name=tenant.name,
        url=tenant_url(tenant.uuid),
        state=state,
        rank=rank,
        badge=badge,
        short_badge=Badge(short, badge.tone, badge.icon),
        summary=summary_of(activity),
        activity=activity,
        reported=_reported(activity, last_at, now),
        reported_short=_reported_short(last_at, now),
        list_url=tenant_operations_url(tenant.id),
        stale_url=stale_cta_url(tenant.id),
        follow_up_url=tenant_operations_url(tenant.id, activeTab=fr.TERMINAL_FOLLOW_UP),
    )


def severity_key(card):
    """Sort key: most severe state first, then the most affected, then by name."""
    a = card.activity
    return (card.rank, -a.likely_stale, -a.past_expected, -a.follow_up, card.name.casefold())


@dataclass(frozen=True)
class TenantListing:
    """The overview's tenants as asked for: filter text, problems only, cards or table."""

    cards: list
    total: int
    with_problems: int
    query: str
    problems_only: bool
    view: str
    shown_text: str
    table_url: str
    cards_url: str
    clear_url: str | None
    follow_up_label: str

    @property
    def table_parts(self):
        """The shown tenants in side-by-side tables of at most TABLE_ROWS rows, balanced
        (66 tenants: three tables of 22), severity order running down each in turn."""
        parts = min(MAX_TABLES, -(-len(self.cards) // TABLE_ROWS)) or 1
        size = -(-len(self.cards) // parts)
        return [self.cards[i : i + size] for i in range(0, len(self.cards), size)]


def _url(**args):
    return overview_url(**args)


def tenant_listing(cards, args, follow_up_window):
    """Sort ``cards`` by severity and apply the overview's query ``args``: ``q`` (part of
    a name, any case), ``problems=1`` and ``view`` (cards or table)."""
    query = (args.get("q") or "").strip()[:200]
    problems_only = args.get("problems") == "1"
    view = args.get("view") if args.get("view") in VIEWS else CARDS
    ordered = sorted(cards, key=severity_key)
    needle = query.casefold()
    shown = [
        c
        for c in ordered
        if (not needle or needle in c.name.casefold()) and (not problems_only or c.has_problem)
    ]
    with_problems = sum(1 for c in cards if c.has_problem)
    filtered = bool(query) or problems_only
    text = f"{len(shown)} of {len(cards)} tenants" if filtered else _tenants(len(cards))
    keep = {"q": query, "problems": "1" if problems_only else None}
    return TenantListing(
        cards=shown,
        total=len(cards),
        with_problems=with_problems,
        query=query,
        problems_only=problems_only,
        view=view,
        shown_text=f"{text} · {with_problems} with problems",
        table_url=_url(**keep, view=TABLE),
        cards_url=_url(**keep),
        clear_url=_url(view=view if view != CARDS else None) if filtered else None,
        follow_up_label=f"Follow-up, {window(follow_up_window)}",
    )


def _tenants(count):
    return "1 tenant" if count == 1 else f"{count} tenants"
