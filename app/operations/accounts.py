"""Accounts: users, workspaces, tenants, memberships and tenant grants.

Every function validates its input, adds to the session and flushes; the caller commits.
"""

import re

import sqlalchemy as sa
from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models import Membership, Tenant, TenantGrant, User, Workspace
from app.models.accounts import ROLES
from app.operations.clock import now as clock_now

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8


class AccountError(ValueError):
    """Input that cannot become an account record; the message says why."""


def normalize_email(email):
    """Emails are compared case-insensitively and without surrounding spaces."""
    return (email or "").strip().lower()


def hash_password(password):
    """Hash ``password`` with the configured method."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def _check_slug(slug, what):
    if not SLUG_RE.match(slug or ""):
        raise AccountError(
            f"{what} slug {slug!r} must be 1-64 lowercase letters, digits or inner hyphens"
        )
    return slug


def _name(name, fallback):
    name = (name or "").strip() or fallback
    if len(name) > 200:
        raise AccountError("name must be at most 200 characters")
    return name


def create_user(email, password, name=None):
    """A new active user; AccountError for a bad email, a short password or a duplicate."""
    email = normalize_email(email)
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise AccountError(f"{email!r} is not an email address")
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if user_by_email(email) is not None:
        raise AccountError(f"a user with email {email!r} already exists")
    user = User(
        email=email,
        name=_name(name, email.split("@")[0]),
        password_hash=hash_password(password),
        active=True,
        created_at=clock_now(),
    )
    db.session.add(user)
    db.session.flush()
    return user


def user_by_email(email):
    """The user with this email (case-insensitive), or None."""
    return db.session.scalar(sa.select(User).where(User.email == normalize_email(email)))


def authenticate(email, password):
    """The active user with these credentials, or None.

    A missing user still costs one hash check, so response time does not tell
    whether an email is registered.
    """
    user = user_by_email(email)
    if user is None:
        check_password_hash(_dummy_hash(), password or "")
        return None
    if not user.active or not check_password_hash(user.password_hash, password or ""):
        return None
    return user


def _dummy_hash():
    extension = current_app.extensions
    if "runwarden.dummy_hash" not in extension:
        extension["runwarden.dummy_hash"] = hash_password("not-a-password")
    return extension["runwarden.dummy_hash"]


def create_workspace(slug, name=None):
    """A new workspace; AccountError for a bad or taken slug."""
    _check_slug(slug, "workspace")
    if workspace_by_slug(slug) is not None:
        raise AccountError(f"workspace {slug!r} already exists")
    workspace = Workspace(slug=slug, name=_name(name, slug), created_at=clock_now())
    db.session.add(workspace)
    db.session.flush()
    return workspace


def workspace_by_slug(slug):
    """The workspace with this slug, or None."""
    return db.session.scalar(sa.select(Workspace).where(Workspace.slug == slug))


def _require_workspace(slug):
    workspace = workspace_by_slug(slug)
    if workspace is None:
        raise AccountError(f"no workspace {slug!r}")
    return workspace


def create_tenant(workspace_slug, slug, name=None):
    """A new tenant of the workspace ``workspace_slug``, with a fresh public uuid."""
    workspace = _require_workspace(workspace_slug)
    _check_slug(slug, "tenant")
    if _tenant(workspace, slug) is not None:
        raise AccountError(f"tenant {slug!r} already exists in workspace {workspace_slug!r}")
    tenant = Tenant(
        workspace_id=workspace.id, slug=slug, name=_name(name, slug), created_at=clock_now()
    )
    db.session.add(tenant)
    db.session.flush()
    return tenant


def _tenant(workspace, slug):
    return db.session.scalar(
        sa.select(Tenant).where(Tenant.workspace_id == workspace.id, Tenant.slug == slug)
    )


def add_member(email, workspace_slug, role, tenant_slugs=()):
    """Make the user a member with ``role``; operators and viewers get the listed tenants.

    An existing membership takes the new role and gains the listed grants (none are removed).
    Returns (membership, sorted granted tenant slugs, created).
    """
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)} (got {role!r})")
    if role == "owner" and tenant_slugs:
        raise AccountError("owners see every tenant; --tenant is for operators and viewers")
    user = user_by_email(email)
    if user is None:
        raise AccountError(f"no user with email {normalize_email(email)!r}")
    workspace = _require_workspace(workspace_slug)
    tenants = _tenants(workspace, tenant_slugs)
    membership = db.session.scalar(
        sa.select(Membership).where(
            Membership.user_id == user.id, Membership.workspace_id == workspace.id
        )
    )
    created = membership is None
    if created:
        membership = Membership(user_id=user.id, workspace_id=workspace.id, role=role)
        db.session.add(membership)
        db.session.flush()
    membership.role = role
    return membership, _grant(membership, tenants), created


def _tenants(workspace, slugs):
    """The tenants of ``workspace`` named by ``slugs`` (once each); AccountError for any other."""
    tenants = []
    for slug in dict.fromkeys(slugs):
        tenant = _tenant(workspace, slug)
        if tenant is None:
            raise AccountError(f"no tenant {slug!r} in workspace {workspace.slug!r}")
        tenants.append(tenant)
    return tenants


def _grant(membership, tenants):
    """Add the grants of ``tenants`` the membership lacks; all its granted slugs, sorted."""
    granted = set(
        db.session.scalars(
            sa.select(TenantGrant.tenant_id).where(TenantGrant.membership_id == membership.id)
        )
    )
    for tenant in tenants:
        if tenant.id not in granted:
            db.session.add(TenantGrant(membership_id=membership.id, tenant_id=tenant.id))
            granted.add(tenant.id)
    db.session.flush()
    slugs = db.session.scalars(
        sa.select(Tenant.slug).where(Tenant.id.in_(sorted(granted) or [-1])).order_by(Tenant.slug)
    )
    return list(slugs)
