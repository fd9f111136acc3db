"""The canonical operations list: tabs with counts, filters, a keyset page, tenant context."""

from datetime import timedelta

from flask import abort

from app.operations.queries import COUNT_CAP, MAX_ROW_ID, TAB_ALL, InvalidQuery, RunFilters
from app.operations.search import SORT_CREATED, SORT_DURATION, SORTS, parse_instant, time_zone
from app.pages import Page, reads_for, shared_by_tenant
from app.pages.facts import run_views, stale_count, tenant_by_id, tenant_rows
from app.pages.tenant import overlay_for
from app.presenter.lists import list_args, operations_list

TEMPLATE = "monitoring/operations.html"


def _tenant(scope, raw):
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()):
        raise InvalidQuery("tenant_id", "tenant_id must be a number")
    tenant_id = int(raw)
    tenant = tenant_by_id(scope, tenant_id) if tenant_id <= MAX_ROW_ID else None
    if tenant is None:
        abort(404)
    return tenant


# A search counts its matches up to here ("100+"): counting 1,000 matches of a rarer text
# read tens of thousands of runs (86 ms on SQLite at 200k runs, 2 ms for 100).
SEARCH_COUNT_CAP = 100
RANGES = {"1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400}
DURATION_RANGE = "24h"  # ranking by duration reads one window, never the whole history


def _instant(args, name, zone):
    try:
        return parse_instant(args.get(name), zone)
    except ValueError as exc:
        raise InvalidQuery(name, f"{name} must be a date and time") from exc


def _zone(args):
    try:
        return time_zone(args.get("tz"))
    except ValueError as exc:
        raise InvalidQuery(
            "tz", "tz must be a time zone name such as UTC or Europe/Berlin"
        ) from exc


def _range(args, now):
    """(created_from, created_to) from ``range`` (a preset) or ``from`` / ``to`` (wall times
    in the zone ``tz`` names, UTC without it)."""
    zone = _zone(args)
    preset = args.get("range") or (DURATION_RANGE if args.get("sort") == SORT_DURATION else None)
    if preset is not None and preset not in RANGES:
        raise InvalidQuery("range", f"unknown range {preset!r}")
    if preset:
        return now - timedelta(seconds=RANGES[preset]), None
    return _instant(args, "from", zone), _instant(args, "to", zone)


def _filters(args, scope, now):
    tenant = _tenant(scope, args.get("tenant_id"))
    created_from, created_to = _range(args, now)
    if args.get("sort", SORT_CREATED) not in SORTS:
        raise InvalidQuery("sort", "sort must be created or duration")
    filters = RunFilters(
        tenant_id=tenant.id if tenant else None,
        type=args.get("type"),
        status=args.get("status"),
        problem_class=args.get("problemClass"),
        text=(args.get("q") or "").strip() or None,
        created_from=created_from,
        created_to=created_to,
    )
    return tenant, filters.validate()


def _newer(reads, tab, filters, query):
    """On a deeper page: the runs that arrived above it since its first page was read."""
    raw = query.get("since_id")
    if not (query.get("cursor") or query.get("before")) or raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_ROW_ID:
        raise InvalidQuery("since_id", "since_id must be a run id")
    return reads.count_newer(tab=tab, filters=filters, since_id=int(raw))


def _page(reads, tab, filters, query):
    """The keyset page the list shows (one tenant's: shared by every viewer of the tenant)."""
    at = (query.get("cursor"), query.get("before"), query.get("sort", SORT_CREATED))

    def read():
        return reads.page(tab=tab, filters=filters, cursor=at[0], before=at[1], sort=at[2])

    return shared_by_tenant(
        reads.scope, reads.now, "list_page", read, filters.tenant_id, tab, filters, *at
    )


def _read(reads, scope, query, tab):
    """(tenant, tab counts, page, newer count) of the list ``query`` asks for; InvalidQuery
    for a bad filter or cursor."""
    tenant, filters = _filters(query, scope, reads.now)
    cap = SEARCH_COUNT_CAP if filters.text else COUNT_CAP
    counts = shared_by_tenant(
        scope,
        reads.now,
        "tab_counts",
        lambda: reads.tab_counts(filters=filters, cap=cap),
        filters.tenant_id,
        filters,
        cap,
    )
    page = _page(reads, tab, filters, query)
    return tenant, counts, page, _newer(reads, tab, filters, query)


def build(scope, args, now):
    """The list page for ``args.args``; 400 for a bad filter or cursor, 404 for a hidden tenant."""
    reads = reads_for(scope, now)
    policy = reads.policy
    query = list_args(args.args)
    tab = query.get("activeTab", TAB_ALL)
    try:
        tenant, counts, page, newer = _read(reads, scope, query, tab)
    except InvalidQuery as exc:
        abort(400, description=exc.message)
    tenants = tenant_rows(scope)
    view = operations_list(
        query,
        tab=tab,
        counts=counts,
        page=page,
        tenant=tenant,
        tenants=tenants,
        policy=policy,
        newer=newer,
    )
    context = {
        "view": view,
        "rows": run_views(page.runs, policy=policy, now=now, back=args.path),
        "overlay": overlay_for(reads, tenant) if tenant else None,
        "stale_count": stale_count(reads),
    }
    return Page(TEMPLATE, context, now)
