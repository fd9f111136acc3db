"""What a user (or an API token) may see in a workspace: a Scope, and its tenants.

Routes never filter runs or tenants by hand: runs are read through ``RunReads(scope, ...)``
(``app.operations.reads``, where the one visibility rule for runs lives), also the run a
change is about to write, tenants through the Scope. Anything outside the scope answers
None, and the route turns None into 404.
"""

from dataclasses import dataclass
from functools import lru_cache

import sqlalchemy as sa

from app.extensions import db
from app.models import Membership, Tenant, TenantGrant, User, Workspace
from app.operations.reads.binds import NO_TENANT, SOME_TENANTS, shape_of


@dataclass(frozen=True)
class Scope:
    """What one principal may see in one workspace. ``tenant_ids`` None means every tenant."""

    workspace_id: int
    role: str
    tenant_ids: frozenset | None
    user_id: int | None = None

    def tenant_rows(self, ids=None):
        """Visible tenants as plain rows, by name; ``ids`` narrows to those tenants."""
        params = {"workspace_id": self.workspace_id}
        if shape_of(self) == SOME_TENANTS:
            params["granted_tenant_ids"] = sorted(self.tenant_ids)
        if ids is not None:
            params["tenant_ids"] = sorted({i for i in ids if i is not None})
        return db.session.execute(_tenant_rows_query(shape_of(self), ids is not None), params).all()

    def can_see_tenant(self, tenant_id):
        """Whether runs of ``tenant_id`` (None: workspace-level) are visible."""
        return tenant_id is None or self.tenant_ids is None or tenant_id in self.tenant_ids

    def tenant_by_uuid(self, tenant_uuid):
        """The visible tenant (a plain row, as ``tenant_rows``) with this uuid, or None."""
        return self._tenant(_BY_UUID, str(tenant_uuid))

    def tenant_by_id(self, tenant_id):
        """The visible tenant (a plain row) with this id, or None."""
        return self._tenant(_BY_ID, tenant_id)

    def tenant_by_ref(self, ref):
        """The visible tenant (a plain row) by uuid or slug, or None."""
        return self._tenant(_BY_REF, str(ref))

    def _tenant(self, query, key):
        values = {"workspace_id": self.workspace_id, "tenant_key": key}
        tenant = db.session.execute(query, values).first()
        return tenant if tenant is not None and self.can_see_tenant(tenant.id) else None


_WORKSPACE = sa.bindparam("workspace_id", type_=sa.Integer, required=True)


@lru_cache(maxsize=16)
def _tenant_rows_query(shape, some):
    tenants = Tenant.__table__
    query = sa.select(tenants).where(tenants.c.workspace_id == _WORKSPACE)
    if shape == NO_TENANT:
        query = query.where(sa.false())
    elif shape == SOME_TENANTS:
        granted = sa.bindparam("granted_tenant_ids", expanding=True, required=True)
        query = query.where(tenants.c.id.in_(granted))
    if some:
        query = query.where(tenants.c.id.in_(sa.bindparam("tenant_ids", expanding=True)))
    return query.order_by(tenants.c.name, tenants.c.id)


def _tenant_query(*where):
    tenants = Tenant.__table__
    return sa.select(tenants).where(tenants.c.workspace_id == _WORKSPACE, *where)


_KEY = sa.bindparam("tenant_key", type_=sa.String, required=True)
_BY_UUID = _tenant_query(Tenant.__table__.c.uuid == _KEY)
_BY_ID = _tenant_query(
    Tenant.__table__.c.id == sa.bindparam("tenant_key", type_=sa.Integer, required=True)
)
_BY_REF = _tenant_query(sa.or_(Tenant.__table__.c.uuid == _KEY, Tenant.__table__.c.slug == _KEY))


def scope_for_user(user, workspace_id):
    """The user's scope in ``workspace_id``, or None when not a member."""
    if user is None or not getattr(user, "is_authenticated", False) or workspace_id is None:
        return None
    membership = db.session.scalar(
        sa.select(Membership).where(
            Membership.user_id == user.id, Membership.workspace_id == workspace_id
        )
    )
    if membership is None:
        return None
    return scope_for_member(user.id, workspace_id, membership.role)


def scope_for_member(user_id, workspace_id, role):
    """The Scope of a member whose ``role`` in ``workspace_id`` is known (freshly loaded).

    Owners see every tenant (no query); others see the tenants granted to them.
    """
    tenant_ids = None
    if role != "owner":
        tenant_ids = frozenset(
            db.session.scalars(
                sa.select(TenantGrant.tenant_id)
                .join(Membership, Membership.id == TenantGrant.membership_id)
                .join(Tenant, Tenant.id == TenantGrant.tenant_id)
                .where(
                    Membership.user_id == user_id,
                    Membership.workspace_id == workspace_id,
                    Tenant.workspace_id == workspace_id,
                )
            )
        )
    return Scope(workspace_id, role, tenant_ids, user_id)


def scopes_of_members(members):
    """``{(user_id, workspace_id): Scope}`` for the pairs of ``members`` whose user is active
    and a member of that workspace (the others are left out), as ``scope_for_user`` would
    answer each: two statements for any number of them (the live keeper's re-check)."""
    pairs = {(int(user_id), int(workspace_id)) for user_id, workspace_id in members}
    if not pairs:
        return {}
    rows = db.session.execute(
        sa.select(Membership.id, Membership.user_id, Membership.workspace_id, Membership.role)
        .join(User, User.id == Membership.user_id)
        .where(
            User.active.is_(True),
            Membership.user_id.in_(sorted({user for user, _ in pairs})),
            Membership.workspace_id.in_(sorted({space for _, space in pairs})),
        )
    ).all()
    rows = [row for row in rows if (row.user_id, row.workspace_id) in pairs]
    granted = _grants_of([row.id for row in rows if row.role != "owner"])
    return {
        (row.user_id, row.workspace_id): Scope(
            row.workspace_id,
            row.role,
            None if row.role == "owner" else frozenset(granted.get(row.id, ())),
            row.user_id,
        )
        for row in rows
    }


def _grants_of(membership_ids):
    """``{membership_id: {tenant_id}}``: the grants of those memberships to tenants of
    their own workspace."""
    if not membership_ids:
        return {}
    rows = db.session.execute(
        sa.select(TenantGrant.membership_id, TenantGrant.tenant_id)
        .join(Membership, Membership.id == TenantGrant.membership_id)
        .join(Tenant, Tenant.id == TenantGrant.tenant_id)
        .where(
            TenantGrant.membership_id.in_(sorted(membership_ids)),
            Tenant.workspace_id == Membership.workspace_id,
        )
    )
    granted = {}
    for membership_id, tenant_id in rows:
        granted.setdefault(membership_id, set()).add(tenant_id)
    return granted


def scope_for_token(token):
    """An API token sees its whole workspace."""
    return Scope(token.workspace_id, "token", None)


def workspaces_for_user(user):
    """(workspace, role) pairs the user belongs to, by name; a workspace is a plain row
    (read on every page for the chrome and the scope)."""
    rows = db.session.execute(_WORKSPACES_OF_USER, {"user_id": user.id})
    return [(row, row.role) for row in rows]


_WORKSPACES_OF_USER = (
    sa.select(Workspace.__table__, Membership.role)
    .join(Membership, Membership.workspace_id == Workspace.id)
    .where(Membership.user_id == sa.bindparam("user_id", type_=sa.Integer, required=True))
    .order_by(Workspace.name, Workspace.id)
)
