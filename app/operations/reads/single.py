"""The statements of reads about chosen runs: one run by id, the active runs whose next
time-only change a live page plans, the runs a reconciler pass closed. Private to
``app.operations.reads``."""

from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from app.models import OperationRun
from app.operations import freshness as fr
from app.operations.reads.binds import fixed, visible, with_tenant

RUN_ID = "run_id"
NARROW_TENANT, NARROW_RUN = "tenant", "run"
# What a worker's report is checked against before it is written (``RunReads.to_check``).
CHECKED = ("id", "status", "started_at", "processed", "total")


@lru_cache(maxsize=16)
def run_query(scope_shape):
    """The visible run ``:run_id`` with its tenant (the API reads one per call)."""
    runs = sa.select(OperationRun.__table__).where(
        visible(scope_shape),
        OperationRun.id == sa.bindparam(RUN_ID, type_=sa.Integer, required=True),
    )
    return with_tenant(runs)[0]


@lru_cache(maxsize=16)
def active_query(scope_shape, narrow, limit):
    """Visible active runs (``narrow``: of ``:narrow_id``, a tenant or a run), up to ``limit``."""
    where = [visible(scope_shape), fr.active_clause()]
    if narrow is not None:
        column = OperationRun.tenant_id if narrow == NARROW_TENANT else OperationRun.id
        where.append(column == sa.bindparam("narrow_id", type_=sa.Integer, required=True))
    return with_tenant(sa.select(OperationRun.__table__).where(*where).limit(fixed(limit)))[0]


@lru_cache(maxsize=16)
def reconciled_by_pass_query(scope_shape):
    """How many visible runs each pass of ``:pass_starts`` closed (it stamps its start)."""
    starts = sa.bindparam("pass_starts", expanding=True, required=True)
    return (
        sa.select(OperationRun.reconciled_at, sa.func.count())
        .where(visible(scope_shape), OperationRun.reconciled_at.in_(starts))
        .group_by(OperationRun.reconciled_at)
    )


@lru_cache(maxsize=16)
def visible_ids_query(scope_shape):
    """The visible runs among ``:run_ids``."""
    ids = sa.bindparam("run_ids", expanding=True, required=True)
    return sa.select(OperationRun.id).where(visible(scope_shape), OperationRun.id.in_(ids))


@lru_cache(maxsize=16)
def checked_query(scope_shape, as_array):
    """The CHECKED columns of the visible runs among ``:run_ids``: on PostgreSQL
    (``as_array``) one array parameter, so one statement text, prepared once, whatever the
    batch's size (an IN list is rendered and sent item by item, a new text per size);
    elsewhere an expanded IN list."""
    columns = [OperationRun.__table__.c[name] for name in CHECKED]
    if as_array:
        ids = sa.bindparam("run_ids", type_=postgresql.ARRAY(sa.Integer), required=True)
        return sa.select(*columns).where(visible(scope_shape), OperationRun.id == sa.func.any(ids))
    ids = sa.bindparam("run_ids", expanding=True, required=True)
    return sa.select(*columns).where(visible(scope_shape), OperationRun.id.in_(ids))
