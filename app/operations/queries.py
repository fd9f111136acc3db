"""Read queries over visible runs: tabs, filters, keyset pages and counts.

Every query starts from a Scope (visibility) and uses the SQL form of the freshness truth.
"""

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import sqlalchemy as sa

from app.extensions import db
from app.models import OperationRun
from app.models.runs import RunRecord
from app.operations import freshness as fr
from app.operations import search as sr
from app.operations.visibility import Scope

TAB_ALL = "all"
TAB_ACTIVE = "active"
TABS = (TAB_ALL, TAB_ACTIVE, fr.ACTIVE_STALE_ATTENTION, fr.TERMINAL_FOLLOW_UP)
STATUSES = ("queued", "running", "completed")
COUNT_CAP = 10_000
MAX_PAGE = 200
MAX_ID = 2**63 - 1
MAX_ROW_ID = 2**31 - 1  # primary keys are INTEGER columns: 32-bit on PostgreSQL


class InvalidQuery(ValueError):
    """A tab, filter or cursor that cannot be used; ``field`` names it."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class RunFilters:
    """Optional list filters (all combine with AND)."""

    tenant_id: int | None = None
    type: str | None = None
    status: str | None = None
    problem_class: str | None = None
    text: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None

    def validate(self):
        """Raise InvalidQuery for values outside the domain."""
        if self.status is not None and self.status not in STATUSES:
            raise InvalidQuery("status", f"unknown status {self.status!r}")
        if self.text is not None and not 0 < len(self.text) <= sr.MAX_SEARCH:
            raise InvalidQuery("q", f"search text must be 1 to {sr.MAX_SEARCH} characters")
        if self.problem_class is not None and self.problem_class not in fr.PROBLEM_CLASSES:
            raise InvalidQuery("problemClass", f"unknown problem class {self.problem_class!r}")
        return self

    @property
    def shape(self):
        """What the SQL of these filters depends on (their values are ``params``)."""
        return (
            self.tenant_id is not None,
            self.type is not None,
            self.status,
            self.problem_class,
            None if self.text is None else sr.search_kind(self.text),
            self.created_from is not None,
            self.created_to is not None,
        )

    @property
    def params(self):
        """The bound values of ``filter_clauses(self.shape, policy)``."""
        values = {
            "filter_tenant_id": self.tenant_id,
            "filter_type": self.type,
            "created_from": self.created_from,
            "created_to": self.created_to,
        }
        if self.text is not None:
            values["search_pattern"] = sr.like_pattern(self.text)
            values["search_id"] = sr.run_id_in(self.text)
        return {key: value for key, value in values.items() if value is not None}


def fixed(number):
    """A LIMIT written into the SQL text rather than bound.

    PostgreSQL plans a bound LIMIT as unknown, so a prepared statement's generic plan
    looks dear and every execution is planned again (up to 1.5 ms for the freshness
    clause); with the number in the text the generic plan is reused.
    """
    return sa.literal(int(number), sa.Integer, literal_execute=True)


@dataclass(frozen=True)
class Page:
    """One keyset page in the list order; ``prev_cursor`` leads to the page before it."""

    runs: list
    next_cursor: str | None
    prev_cursor: str | None = None


def tab_clause(tab, policy):
    """SQL filter of a list tab (bind ``fr.instant(policy, now)`` when executing)."""
    if tab == TAB_ALL:
        return sa.true()
    if tab == TAB_ACTIVE:
        return fr.active_clause()
    if tab in (fr.ACTIVE_STALE_ATTENTION, fr.TERMINAL_FOLLOW_UP):
        return fr.problem_class_clause(tab, policy)
    raise InvalidQuery("activeTab", f"unknown tab {tab!r}")


def filter_clauses(shape, policy):
    """SQL filters for RunFilters of ``shape`` (see ``RunFilters.shape``); bind
    ``filters.params`` and ``fr.instant(policy, now)`` when executing."""
    has_tenant, has_type, status, problem_class, search_kind, has_from, has_to = shape
    clauses = sr.range_clauses(has_from, has_to)
    if search_kind is not None:
        clauses.append(sr.search_clause(search_kind))
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
        clauses.append(fr.problem_class_clause(problem_class, policy))
    return clauses


def encode_cursor(run):
    """Opaque cursor pointing after ``run`` in newest-first order."""
    raw = f"{run.created_at.isoformat()}|{run.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor):
    """(created_at, id) from a cursor; InvalidQuery when it is not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, run_id = base64.urlsafe_b64decode(padded.encode()).decode().split("|")
        created_at, run_id = datetime.fromisoformat(created), int(run_id)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidQuery("cursor", "cursor is not valid") from exc
    if not 0 <= run_id <= MAX_ID:
        raise InvalidQuery("cursor", "cursor is not valid")
    return created_at, run_id


def list_runs(
    scope,
    *,
    policy,
    now,
    tab=TAB_ALL,
    filters=RunFilters(),
    cursor=None,
    limit=50,
    sort=sr.SORT_CREATED,
    before=None,
):
    """A keyset page of visible runs as RunRecords (loading ORM objects with their tenants
    cost three times the query), newest first or (``sort="duration"``) longest first; the
    page after ``cursor``, or the one before ``before``. A page names its runs' tenants
    from the visible tenants (``Scope.tenant_rows``)."""
    limit = max(1, min(int(limit), MAX_PAGE))
    filters = filters.validate()
    tab_clause(tab, policy)  # an unknown tab fails before anything runs
    if sort not in sr.SORTS:
        raise InvalidQuery("sort", f"unknown sort {sort!r}")
    params = {**scope.params, **filters.params, **fr.instant(policy, now), "sort_now": now}
    at = before or cursor
    if at:
        params["cursor_key"], params["cursor_id"] = _decode(sort, at)
    newer = bool(before)
    query = _page_query(policy, scope.shape, tab, filters.shape, sort, bool(at), newer, limit + 1)
    rows = db.session.execute(query, params).all()
    more = len(rows) > limit
    rows = rows[:limit]
    if newer:
        rows.reverse()
    runs = [RunRecord._make(row[:-1]) for row in rows]
    if not rows:
        return Page([], None, None)
    first, last = _encode(sort, rows[0]), _encode(sort, rows[-1])
    if newer:
        return Page(runs, last, first if more else None)
    return Page(runs, last if more else None, first if cursor else None)


def _decode(sort, cursor):
    if sort == sr.SORT_CREATED:
        return decode_cursor(cursor)
    try:
        return sr.decode_duration_cursor(cursor)
    except ValueError as exc:
        raise InvalidQuery("cursor", "cursor is not valid") from exc


def _encode(sort, row):
    if sort == sr.SORT_CREATED:
        return encode_cursor(RunRecord._make(row[:-1]))
    return sr.encode_duration_cursor(row[-1], row.id)


@lru_cache(maxsize=256)
def _page_query(policy, scope_shape, tab, filter_shape, sort, at_cursor, newer, rows):
    """The keyset page query, built once per shape (building it costs more than running it)."""
    key = OperationRun.created_at if sort == sr.SORT_CREATED else sr.duration_key()
    order = (key.asc(), OperationRun.id.asc()) if newer else (key.desc(), OperationRun.id.desc())
    query = (
        sa.select(OperationRun.__table__, key.label("sort_key"))
        .where(
            Scope.bound_run_filter(scope_shape),
            tab_clause(tab, policy),
            *filter_clauses(filter_shape, policy),
        )
        .order_by(*order)
        .limit(fixed(rows))
    )
    if at_cursor:
        key_type = sa.DateTime if sort == sr.SORT_CREATED else sa.Float
        cursor = sa.tuple_(
            sa.bindparam("cursor_key", type_=key_type, required=True),
            sa.bindparam("cursor_id", type_=sa.BigInteger, required=True),
        )
        here = sa.tuple_(key, OperationRun.id)
        query = query.where(here > cursor if newer else here < cursor)
    return query


def count_newer(scope, *, policy, now, tab=TAB_ALL, filters=RunFilters(), since_id, cap=99):
    """How many visible runs of ``tab`` under ``filters`` arrived after run ``since_id``
    (a higher id), capped: what a reader of a deeper page has not seen yet."""
    filters = filters.validate()
    tab_clause(tab, policy)
    params = {**scope.params, **filters.params, **fr.instant(policy, now), "since_id": since_id}
    value = db.session.scalar(_newer_query(policy, scope.shape, tab, filters.shape, cap), params)
    return Count(min(value, cap), value > cap)


@lru_cache(maxsize=256)
def _newer_query(policy, scope_shape, tab, filter_shape, cap):
    since = sa.bindparam("since_id", type_=sa.BigInteger, required=True)
    where = [
        Scope.bound_run_filter(scope_shape),
        tab_clause(tab, policy),
        *filter_clauses(filter_shape, policy),
        OperationRun.id > since,
    ]
    return sa.select(_capped_count(where, cap))


@dataclass(frozen=True)
class Count:
    """A count, possibly capped (shown as "10,000+")."""

    value: int
    capped: bool = False


def _capped_count(where, cap):
    """SQL: COUNT over runs matching ``where``, stopping at ``cap`` + 1 rows."""
    inner = sa.select(sa.literal(1)).select_from(OperationRun).where(*where).limit(fixed(cap + 1))
    return sa.select(sa.func.count()).select_from(inner.subquery()).scalar_subquery()


def tab_counts(scope, *, policy, now, filters=RunFilters(), cap=COUNT_CAP):
    """{tab: Count} for every tab, under the same filters as the list, in one statement."""
    filters = filters.validate()
    params = {**scope.params, **filters.params, **fr.instant(policy, now)}
    row = db.session.execute(_counts_query(policy, scope.shape, filters.shape, cap), params).one()
    return {tab: Count(min(value, cap), value > cap) for tab, value in zip(TABS, row, strict=True)}


@lru_cache(maxsize=256)
def _counts_query(policy, scope_shape, filter_shape, cap):
    base = [Scope.bound_run_filter(scope_shape), *filter_clauses(filter_shape, policy)]
    return sa.select(
        *[_capped_count([*base, tab_clause(tab, policy)], cap).label(tab) for tab in TABS]
    )


def likely_stale_total(scope, *, policy, now, cap=999):
    """How many visible runs are likely stale (capped): the count every page's title shows."""
    params = {**scope.params, **fr.instant(policy, now)}
    value = db.session.scalar(_stale_total_query(policy, scope.shape, cap), params)
    return Count(min(value, cap), value > cap)


@lru_cache(maxsize=64)
def _stale_total_query(policy, scope_shape, cap):
    where = [Scope.bound_run_filter(scope_shape), fr.likely_stale_clause(policy)]
    return sa.select(_capped_count(where, cap))
