"""The statements of the canonical list: tabs, filters, keyset pages and capped counts.

Built once per shape (building one costs more than running it) and private to
``app.operations.reads``; their values come from ``filter_values`` and ``binds.bound``.
"""

from functools import lru_cache

import sqlalchemy as sa

from app.models import OperationRun
from app.operations import freshness as fr
from app.operations import search as sr
from app.operations.plan_hints import generic_plan_bound
from app.operations.queries import STATUSES, TAB_ACTIVE, TAB_ALL, TABS, InvalidQuery
from app.operations.reads import search as rs
from app.operations.reads.binds import fixed, visible, visible_parts, with_tenant


def tab_clause(tab, policy, in_list_order=False):
    """SQL filter of a list tab (``in_list_order``: for a page read newest first, see
    ``freshness.follow_up_clause``)."""
    if tab == TAB_ALL:
        return sa.true()
    if tab == TAB_ACTIVE:
        return fr.active_clause()
    if tab in (fr.ACTIVE_STALE_ATTENTION, fr.TERMINAL_FOLLOW_UP):
        return fr.problem_class_clause(tab, policy, in_list_order=in_list_order)
    raise InvalidQuery("activeTab", f"unknown tab {tab!r}")


def filter_shape(filters):
    """What the SQL of ``filters`` depends on (their values are ``filter_values``)."""
    return (
        filters.tenant_id is not None,
        filters.type is not None,
        filters.status,
        filters.problem_class,
        None if filters.text is None else sr.search_shape(filters.text),
        filters.created_from is not None,
        filters.created_to is not None,
    )


def filter_values(filters):
    """The bound values of ``filter_clauses(filter_shape(filters), policy)``."""
    values = {
        "filter_tenant_id": filters.tenant_id,
        "filter_type": filters.type,
        "created_from": filters.created_from,
        "created_to": filters.created_to,
    }
    if filters.text is not None:
        values.update(rs.search_params(filters.text))
    return {key: value for key, value in values.items() if value is not None}


def filter_clauses(shape, policy, in_list_order=False, trigrams=True):
    """SQL filters for RunFilters of ``shape`` (see ``filter_shape``; ``in_list_order`` as
    for ``tab_clause``; ``trigrams`` as for ``rs.search_clause``)."""
    has_tenant, has_type, status, problem_class, search, has_from, has_to = shape
    clauses = rs.range_clauses(has_from, has_to)
    if search is not None:
        clauses.append(rs.search_clause(*search, trigrams=trigrams))
    if has_tenant:
        tenant = sa.bindparam("filter_tenant_id", type_=sa.Integer, required=True)
        clauses.append(OperationRun.tenant_id == tenant)
    if has_type:
        clauses.append(OperationRun.type == sa.bindparam("filter_type", required=True))
    if status is not None:
        if status not in STATUSES:  # written into the SQL: only ever one of these
            raise InvalidQuery("status", f"unknown status {status!r}")
        clauses.append(OperationRun.status == sa.literal_column(f"'{status}'"))
    if problem_class is not None:
        clauses.append(fr.problem_class_clause(problem_class, policy, in_list_order=in_list_order))
    return clauses


@lru_cache(maxsize=256)
def page_query(policy, scope_shape, tab, shape, sort, at_cursor, newer, rows):
    """The keyset page statement: read-model rows, then the sort key.

    In the duration order the page's ids and keys are ranked first and only those rows
    read whole: the key is computed for every run of the range (a day's runs), and
    carrying all their columns through the sort cost twice as much on SQLite."""
    in_order = sort == sr.SORT_CREATED
    key = OperationRun.created_at if in_order else rs.duration_key()
    columns = (OperationRun.__table__,) if in_order else (OperationRun.id.label("ranked_id"),)
    keyed = sa.select(*columns, key.label("sort_key"))
    query = _ranked(keyed, key, in_order, at_cursor, newer, rows)
    query = query.where(
        visible(scope_shape),
        tab_clause(tab, policy, in_order),
        *filter_clauses(shape, policy, in_order),
    )
    if not in_order:
        if shape[5] and not shape[6]:  # a range from an instant on: see generic_plan_bound
            query = query.where(generic_plan_bound(OperationRun.created_at))
        ranked = query.subquery("ranked")
        query = sa.select(OperationRun.__table__, ranked.c.sort_key).join_from(
            OperationRun, ranked, OperationRun.id == ranked.c.ranked_id
        )
    joined, page = with_tenant(query, "sort_key")
    if newer:
        return joined.order_by(page.c.sort_key.asc(), page.c.id.asc())
    return joined.order_by(page.c.sort_key.desc(), page.c.id.desc())


def _ranked(query, key, by_created, at_cursor, newer, rows):
    """``query`` in the order of ``key`` (created_at when ``by_created``, else a duration)
    then id, ascending for ``newer``; after the cursor's (``:cursor_key``, ``:cursor_id``)
    when ``at_cursor``; ``rows`` of it."""
    order = (key.asc(), OperationRun.id.asc()) if newer else (key.desc(), OperationRun.id.desc())
    query = query.order_by(*order).limit(fixed(rows))
    if at_cursor:
        key_type = sa.DateTime if by_created else sa.Float
        cursor = sa.tuple_(
            sa.bindparam("cursor_key", type_=key_type, required=True),
            sa.bindparam("cursor_id", type_=sa.BigInteger, required=True),
        )
        here = sa.tuple_(key, OperationRun.id)
        query = query.where(here > cursor if newer else here < cursor)
    return query


def capped_count(where, cap):
    """SQL: COUNT over runs matching ``where``, stopping at ``cap`` + 1 rows."""
    inner = sa.select(sa.literal(1)).select_from(OperationRun).where(*where).limit(fixed(cap + 1))
    return sa.select(sa.func.count()).select_from(inner.subquery()).scalar_subquery()


@lru_cache(maxsize=256)
def newer_query(policy, scope_shape, tab, shape, cap):
    """How many runs of a list arrived after ``:since_id`` (capped)."""
    since = sa.bindparam("since_id", type_=sa.BigInteger, required=True)
    where = [
        visible(scope_shape),
        tab_clause(tab, policy),
        *filter_clauses(shape, policy),
        OperationRun.id > since,
    ]
    return sa.select(capped_count(where, cap))


def capped_count_of_parts(parts, where, cap):
    """SQL: the sum of ``capped_count`` over each of the disjoint ``parts`` (with ``where``).
    Each part stops at ``cap`` + 1, so the sum exceeds ``cap`` exactly when the count over
    their union does, and below that it is that count."""
    counts = [capped_count([part, *where], cap) for part in parts]
    return sum(counts[1:], counts[0])


@lru_cache(maxsize=256)
def counts_query(policy, scope_shape, shape, cap):
    """Every tab's capped count under the same filters, in one statement.

    With a text search, the other tabs (active runs, the follow-up window: few runs, read
    by their own index) look for the text through PostgreSQL's trigram index only when
    the whole list holds it at most ``cap`` times. A common text's trigrams fill the
    index's lists: reading them took 22 ms at 1M runs, reading a tab's runs 1 ms. Only the
    branch taken is run; on SQLite both branches are the same statement.

    Without a text, the "all" tab (the one that reads up to ``cap`` + 1 runs of the whole
    history) counts each part of the visibility apart (``visible_parts``): one index range
    each, where their OR read the table."""

    def count(tab, trigrams=True):
        filters = filter_clauses(shape, policy, trigrams=trigrams)
        return capped_count([visible(scope_shape), *filters, tab_clause(tab, policy)], cap)

    search = shape[4]
    if search is None or search[0] == sr.BY_ID:
        counts = {tab: count(tab) for tab in TABS if tab != TAB_ALL}
        parts = visible_parts(scope_shape)
        counts[TAB_ALL] = capped_count_of_parts(parts, filter_clauses(shape, policy), cap)
        return sa.select(*[counts[tab].label(tab) for tab in TABS])
    # OFFSET 0: PostgreSQL would otherwise fold this into the outer SELECT and count the
    # whole list once per use of it.
    everything = sa.select(count(TAB_ALL).label(TAB_ALL)).offset(fixed(0)).subquery("everything")
    few = everything.c[TAB_ALL] <= fixed(cap)
    others = [
        sa.case((few, count(tab)), else_=count(tab, trigrams=False)).label(tab)
        for tab in TABS
        if tab != TAB_ALL
    ]
    return sa.select(everything.c[TAB_ALL], *others).select_from(everything)


@lru_cache(maxsize=64)
def stale_total_query(policy, scope_shape, cap):
    """How many visible runs are likely stale (capped)."""
    return sa.select(capped_count([visible(scope_shape), fr.likely_stale_clause(policy)], cap))
