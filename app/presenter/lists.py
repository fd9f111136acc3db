"""View model of the canonical operations list: tabs, filters, rows, empty state, pages."""

from dataclasses import dataclass

from app.operations import freshness as fr
from app.operations.queries import TAB_ACTIVE, TAB_ALL, TABS
from app.presenter.formatting import window
from app.presenter.links import operations_url, tenant_url

TAB_LABELS = {
    TAB_ALL: "All",
    TAB_ACTIVE: "Active",
    fr.ACTIVE_STALE_ATTENTION: "Likely stale",
    fr.TERMINAL_FOLLOW_UP: "Follow-up",
}
STATUS_LABELS = {"queued": "Queued", "running": "Running", "completed": "Completed"}
PROBLEM_LABELS = {
    fr.ACTIVE_STALE_ATTENTION: "Likely stale",
    fr.TERMINAL_FOLLOW_UP: "Needs follow-up",
    fr.NO_PROBLEM: "No problem",
}
LIST_PARAMS = ("activeTab", "tenant_id", "type", "status", "problemClass", "cursor", "since_id")


@dataclass(frozen=True)
class Tab:
    """One list tab with its count ("10,000+" when capped)."""

    key: str
    label: str
    count: int
    count_text: str
    url: str
    selected: bool


@dataclass(frozen=True)
class Option:
    """One choice of a filter."""

    value: str
    label: str
    selected: bool


@dataclass(frozen=True)
class TenantContext:
    """The banner shown when the list is narrowed to one tenant."""

    name: str
    dashboard_url: str
    all_tenants_url: str


@dataclass(frozen=True)
class OperationsList:
    """Everything the list page shows."""

    tab: str
    tabs: list
    tenant: TenantContext | None
    tenant_options: list
    type_options: list
    status_options: list
    problem_options: list
    has_filters: bool
    clear_url: str
    empty_title: str
    empty_text: str
    next_url: str | None
    first_url: str | None
    newer: int = 0
    newer_text: str | None = None


def list_args(args):
    """The list's own query parameters from ``args`` (unknown ones dropped)."""
    return {k: args[k] for k in LIST_PARAMS if args.get(k)}


OPTION_CHARS = 48


def _short(label):
    """A choice's label short enough that its dropdown keeps a sane width."""
    return label if len(label) <= OPTION_CHARS else label[: OPTION_CHARS - 1] + "…"


def _options(choices, current):
    return [Option(value, _short(label), value == current) for value, label in choices]


def _empty(tab, filtered, follow_up_window, active):
    if filtered:
        return "No operations match these filters", "Clear the filters to see every run here."
    return {
        TAB_ALL: ("No operations yet", "Runs appear here as soon as a worker reports them."),
        TAB_ACTIVE: ("Nothing is running", "No run is queued or running right now."),
        fr.ACTIVE_STALE_ATTENTION: (
            "No likely stale operations",
            "Every active run is reporting within its limits."
            if active
            else "No run is queued or running right now.",
        ),
        fr.TERMINAL_FOLLOW_UP: (
            "Nothing to follow up",
            f"No run failed or partially succeeded in the last {window(follow_up_window)}.",
        ),
    }[tab]


def operations_list(args, *, tab, counts, page, tenant, tenants, policy, newer=None):
    """The OperationsList for the validated ``args`` (see ``list_args``).

    ``newer`` (a Count) is how many runs arrived above a deeper page since its first page
    was read; the first page's newest id travels in ``since_id`` with the "Older" links.
    """
    base = {k: v for k, v in args.items() if k not in ("cursor", "since_id")}
    tabs = [
        Tab(
            key,
            TAB_LABELS[key],
            counts[key].value,
            f"{counts[key].value:,}" + ("+" if counts[key].capped else ""),
            operations_url(**{**base, "activeTab": key}),
            key == tab,
        )
        for key in TABS
    ]
    types = [(name, policy.for_type(name).label) for name in policy.names()]
    if args.get("type") and not policy.knows(args["type"]):
        types.append((args["type"], policy.for_type(args["type"]).label))
    filtered = any(args.get(k) for k in ("type", "status", "problemClass"))
    title, text = _empty(tab, filtered, policy.follow_up_window, counts[TAB_ACTIVE].value)
    context = None
    if tenant is not None:
        without = {k: v for k, v in base.items() if k != "tenant_id"}
        context = TenantContext(tenant.name, tenant_url(tenant.uuid), operations_url(**without))
    return OperationsList(
        tab=tab,
        tabs=tabs,
        tenant=context,
        tenant_options=_options([(str(t.id), t.name) for t in tenants], args.get("tenant_id")),
        type_options=_options(types, args.get("type")),
        status_options=_options(STATUS_LABELS.items(), args.get("status")),
        problem_options=_options(PROBLEM_LABELS.items(), args.get("problemClass")),
        has_filters=filtered or tenant is not None,
        clear_url=operations_url(activeTab=tab if tab != TAB_ALL else None),
        empty_title=title,
        empty_text=text,
        next_url=operations_url(
            **{**base, "cursor": page.next_cursor, "since_id": _since(args, page)}
        )
        if page.next_cursor
        else None,
        first_url=operations_url(**base) if args.get("cursor") else None,
        newer=newer.value if newer else 0,
        newer_text=_newer_text(newer),
    )


def _since(args, page):
    if args.get("since_id"):
        return args["since_id"]
    return str(max(run.id for run in page.runs)) if page.runs else None


def _newer_text(newer):
    if not newer or not newer.value:
        return None
    count = f"{newer.value}+" if newer.capped else str(newer.value)
    noun = "run" if newer.value == 1 and not newer.capped else "runs"
    return f"{count} newer {noun} since this list was opened"
