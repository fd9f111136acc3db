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
LIST_PARAMS = (
    "activeTab",
    "tenant_id",
    "type",
    "status",
    "problemClass",
    "q",
    "range",
    "from",
    "to",
    "tz",
    "sort",
    "cursor",
    "before",
    "pos",
    "since_id",
)
PAGING = ("cursor", "before", "pos", "since_id")
RANGE_LABELS = {
    "1h": "Last hour",
    "24h": "Last 24 hours",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
}
SORT_LABELS = {"created": "Newest first", "duration": "Longest first"}


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
    search: str = ""
    range_options: tuple = ()
    sort_options: tuple = ()
    created_from: str = ""
    created_to: str = ""
    time_zone: str = "UTC"
    previous_url: str | None = None
    position_text: str | None = None
    order_text: str = "newest first"


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


def _position(args, page, count):
    """(start of this page, "Runs 51–100 of 1,234") from the ``pos`` the links carry."""
    raw = args.get("pos", "0")
    start = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else 0
    if not page.runs:
        return start, None
    total = f"{count.value:,}" + ("+" if count.capped else "")
    return start, f"Runs {start + 1:,}–{start + len(page.runs):,} of {total}"


def _paging(args, base, page, start):
    """(older, newer) page URLs, each carrying its position and the first page's newest id."""
    since = _since(args, page)
    older = newer = None
    if page.next_cursor:
        older = operations_url(
            **{**base, "cursor": page.next_cursor, "pos": str(start + len(page.runs))},
            since_id=since,
        )
    if page.prev_cursor and start > 0:
        back = max(0, start - MAX_ROWS)
        newer = operations_url(
            **{**base, "before": page.prev_cursor, "pos": str(back) if back else None},
            since_id=since if back else None,
        )
    return older, newer


MAX_ROWS = 50


def operations_list(args, *, tab, counts, page, tenant, tenants, policy, newer=None):
    """The OperationsList for the validated ``args`` (see ``list_args``).

    ``newer`` (a Count) is how many runs arrived above a deeper page since its first page
    was read; the first page's newest id travels in ``since_id`` with the paging links.
    """
    base = {k: v for k, v in args.items() if k not in PAGING}
    filtered = any(args.get(k) for k in FILTERS)
    title, text = _empty(tab, filtered, policy.follow_up_window, counts[TAB_ACTIVE].value)
    start, position = _position(args, page, counts[tab])
    older, newer_url = _paging(args, base, page, start)
    return OperationsList(
        tab=tab,
        tabs=_tabs(base, counts, tab),
        tenant=_tenant_context(tenant, base),
        **_filter_options(args, tenants, policy),
        has_filters=filtered or tenant is not None,
        clear_url=operations_url(activeTab=tab if tab != TAB_ALL else None),
        empty_title=title,
        empty_text=text,
        next_url=older,
        first_url=operations_url(**base) if start > 0 else None,
        newer=newer.value if newer else 0,
        newer_text=_newer_text(newer),
        search=args.get("q", ""),
        created_from=args.get("from", ""),
        created_to=args.get("to", ""),
        time_zone=args.get("tz") or "UTC",
        previous_url=newer_url,
        position_text=position,
        order_text=_order_text(args),
    )


# The arguments that narrow the list (a tenant narrows it too, and says so on its own).
FILTERS = ("type", "status", "problemClass", "q", "range", "from", "to")


def _tabs(base, counts, tab):
    """One Tab per list tab, with its count, its link (the other arguments kept) and
    whether it is the one shown."""
    return [
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


def _tenant_context(tenant, base):
    """The TenantContext of a list narrowed to ``tenant`` (its page, and the list without
    it), or None."""
    if tenant is None:
        return None
    without = {k: v for k, v in base.items() if k != "tenant_id"}
    return TenantContext(tenant.name, tenant_url(tenant.uuid), operations_url(**without))


def _filter_options(args, tenants, policy):
    """The options of every filter and order control, the chosen one marked."""
    types = [(name, policy.for_type(name).label) for name in policy.names()]
    if args.get("type") and not policy.knows(args["type"]):
        types.append((args["type"], policy.for_type(args["type"]).label))
    return {
        "tenant_options": _options([(str(t.id), t.name) for t in tenants], args.get("tenant_id")),
        "type_options": _options(types, args.get("type")),
        "status_options": _options(STATUS_LABELS.items(), args.get("status")),
        "problem_options": _options(PROBLEM_LABELS.items(), args.get("problemClass")),
        "range_options": tuple(_options(RANGE_LABELS.items(), args.get("range"))),
        "sort_options": tuple(_options(SORT_LABELS.items(), args.get("sort", "created"))),
    }


def _order_text(args):
    if args.get("sort") != "duration":
        return "newest first"
    label = RANGE_LABELS.get(args.get("range") or ("" if args.get("from") else "24h"))
    within = f"in the {label.lower()}" if label else "in the chosen range"
    return f"longest first, among runs created {within}"


def _since(args, page):
    if args.get("since_id"):
        return args["since_id"]
    if args.get("sort") == "duration":
        return None  # "newer runs" speaks of the newest-first order only
    return str(max(run.id for run in page.runs)) if page.runs else None


def _newer_text(newer):
    if not newer or not newer.value:
        return None
    count = f"{newer.value}+" if newer.capped else str(newer.value)
    noun = "run" if newer.value == 1 and not newer.capped else "runs"
    return f"{count} newer {noun} since this list was opened"
