"""What every statement of the read interface shares: the visibility rule, its values and
the tenant join of the read model. Private to ``app.operations.reads``."""

import sqlalchemy as sa

from app.models import OperationRun, Tenant
from app.operations import freshness as fr
from app.operations.reads.model import RUN_FIELDS

ALL_TENANTS = "all tenants"
SOME_TENANTS = "some tenants"
NO_TENANT = "no tenant"


def shape_of(scope):
    """What the SQL of ``visible`` depends on for ``scope``; its values are ``values_of``."""
    if scope.tenant_ids is None:
        return ALL_TENANTS
    return SOME_TENANTS if scope.tenant_ids else NO_TENANT


def visible(shape, model=OperationRun):
    """The one visibility rule for runs: the scope's workspace, and a visible tenant or
    none. Every value is a required parameter (``values_of``): a statement executed without
    them fails, never falls back to another scope's values."""
    workspace = sa.bindparam("scope_workspace_id", type_=sa.Integer, required=True)
    clause = model.workspace_id == workspace
    if shape == ALL_TENANTS:
        return clause
    if shape == NO_TENANT:
        return sa.and_(clause, model.tenant_id.is_(None))
    granted = sa.bindparam("scope_tenant_ids", expanding=True, required=True)
    return sa.and_(clause, sa.or_(model.tenant_id.is_(None), model.tenant_id.in_(granted)))


def visible_parts(shape, model=OperationRun):
    """``visible(shape)`` as disjoint clauses whose union it is: for a scope that sees some
    tenants, the workspace-level runs and the visible tenants' runs apart (each part one
    range of the workspace-and-tenant index, where the OR of the two reads the runs of
    every tenant until enough match); one clause, ``visible(shape)``, for other shapes."""
    if shape != SOME_TENANTS:
        return [visible(shape, model)]
    workspace = sa.bindparam("scope_workspace_id", type_=sa.Integer, required=True)
    granted = sa.bindparam("scope_tenant_ids", expanding=True, required=True)
    return [
        sa.and_(model.workspace_id == workspace, model.tenant_id.is_(None)),
        sa.and_(model.workspace_id == workspace, model.tenant_id.in_(granted)),
    ]


def values_of(scope):
    """The values of ``visible(shape_of(scope))``."""
    if shape_of(scope) == SOME_TENANTS:
        return {
            "scope_workspace_id": scope.workspace_id,
            "scope_tenant_ids": sorted(scope.tenant_ids),
        }
    return {"scope_workspace_id": scope.workspace_id}


def bound(scope, policy, now):
    """The values every read of ``scope`` at ``now`` binds: visibility and the instant."""
    return {**values_of(scope), **fr.instant(policy, now)}


def fixed(number):
    """A LIMIT written into the SQL text rather than bound.

    PostgreSQL plans a bound LIMIT as unknown, so a prepared statement's generic plan
    looks dear and every execution is planned again (up to 1.5 ms for the freshness
    clause); with the number in the text the generic plan is reused.
    """
    return sa.literal(int(number), sa.Integer, literal_execute=True)


def with_tenant(runs, *extra):
    """``runs`` (a SELECT of whole runs rows, ordered and limited) as read-model rows: the
    run's columns, its tenant's uuid, slug and name, then the ``extra`` columns of ``runs``.

    The tenant is joined outside ``runs`` so the plan of ``runs`` stays what it was; order
    the result by ``page`` columns (the second value returned).
    """
    page = runs.subquery("page")
    tenants = Tenant.__table__
    query = sa.select(
        *(page.c[name] for name in RUN_FIELDS),
        tenants.c.uuid.label("tenant_uuid"),
        tenants.c.slug.label("tenant_slug"),
        tenants.c.name.label("tenant_name"),
        *(page.c[name] for name in extra),
    ).select_from(page.outerjoin(tenants, tenants.c.id == page.c.tenant_id))
    return query, page
