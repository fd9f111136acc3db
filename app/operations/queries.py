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
from app.models.runs import run_records
from app.operations import freshness as fr
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

    def validate(self):
        """Raise InvalidQuery for values outside the domain."""
        if self.status is not None and self.status not in STATUSES:
            raise InvalidQuery("status", f"unknown status {self.status!r}")
        if self.problem_class is not None and self.problem_class not in fr.PROBLEM_CLASSES:
            raise InvalidQuery("problemClass", f"unknown problem class {self.problem_class!r}")
        return self

    @property
    def shape(self):
        """What the SQL of these filters depends on (their values are ``params``)."""
        return (self.tenant_id is not None, self.type is not None, self.status, self.problem_class)

    @property
    def params(self):
        """The bound values of ``filter_clauses(self.shape, policy)``."""
        values = {"filter_tenant_id": self.tenant_id, "filter_type": self.type}
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
    """One keyset page, newest first."""

    runs: list
    next_cursor: str | None


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
    has_tenant, has_type, status, problem_class = shape
    clauses = []
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


def list_runs(scope, *, policy, now, tab=TAB_ALL, filters=RunFilters(), cursor=None, limit=50):
    """A keyset page of visible runs, newest first, as RunRecords (loading ORM objects with
    their tenants cost three times the query); a page names their tenants from the
    visible tenants (``Scope.tenant_rows``)."""
    limit = max(1, min(int(limit), MAX_PAGE))
    filters = filters.validate()
    tab_clause(tab, policy)  # an unknown tab fails before anything runs
    params = {**scope.params, **filters.params, **fr.instant(policy, now)}
    if cursor:
        params["cursor_created_at"], params["cursor_id"] = decode_cursor(cursor)
    query = _page_query(policy, scope.shape, tab, filters.shape, bool(cursor), limit + 1)
    runs = run_records(db.session.execute(query, params))
    next_cursor = encode_cursor(runs[limit - 1]) if len(runs) > limit else None
    return Page(runs[:limit], next_cursor)


@lru_cache(maxsize=256)
def _page_query(policy, scope_shape, tab, filter_shape, after_cursor, rows):
    """The keyset page query, built once per shape (building it costs more than running it)."""
    query = (
        sa.select(OperationRun.__table__)
        .where(
            Scope.bound_run_filter(scope_shape),
            tab_clause(tab, policy),
            *filter_clauses(filter_shape, policy),
        )
        .order_by(OperationRun.created_at.desc(), OperationRun.id.desc())
        .limit(fixed(rows))
    )
    if after_cursor:
        cursor = (
            sa.bindparam("cursor_created_at", type_=sa.DateTime, required=True),
            sa.bindparam("cursor_id", type_=sa.BigInteger, required=True),
        )
        query = query.where(
            sa.tuple_(OperationRun.created_at, OperationRun.id) < sa.tuple_(*cursor)
        )
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
