"""`flask users|workspaces|tenants|members ...`: account administration."""

import click

from app.cli import JsonGroup, emit, fail
from app.extensions import db
from app.models.accounts import ROLES
from app.operations import accounts, sessions
from app.operations.clock import now

users = JsonGroup("users", help="Create users; end their sessions.")
workspaces = JsonGroup("workspaces", help="Create workspaces.")
tenants = JsonGroup("tenants", help="Create tenants of a workspace.")
members = JsonGroup("members", help="Add users to workspaces.")


def _commit_or_fail(build):
    """Run ``build`` and commit; an AccountError rolls back and becomes a JSON error."""
    try:
        result = build()
    except accounts.AccountError as exc:
        db.session.rollback()
        fail(str(exc))
    db.session.commit()
    return result


@users.command("create")
@click.argument("email")
@click.option("--password", required=True, help="At least 8 characters.")
@click.option("--name", default=None, help="Display name (default: the email's local part).")
def create_user(email, password, name):
    """Create a user who can sign in with EMAIL and PASSWORD."""
    user = _commit_or_fail(lambda: accounts.create_user(email, password, name))
    emit({"id": user.id, "email": user.email, "name": user.name})


@users.command("sign-out-everywhere")
@click.argument("email")
def sign_out_everywhere(email):
    """End every browser session of EMAIL (a lost laptop); API tokens are not affected."""
    user = accounts.user_by_email(email)
    if user is None:
        fail(f"no user with email {accounts.normalize_email(email)!r}")
    ended = sessions.end_user_sessions(user.id, now())
    emit({"email": user.email, "id": user.id, "sessions_ended": ended})


@workspaces.command("create")
@click.argument("slug")
@click.option("--name", default=None, help="Display name (default: the slug).")
def create_workspace(slug, name):
    """Create a workspace identified by SLUG."""
    workspace = _commit_or_fail(lambda: accounts.create_workspace(slug, name))
    emit({"id": workspace.id, "slug": workspace.slug, "name": workspace.name})


@tenants.command("create")
@click.argument("workspace_slug")
@click.argument("tenant_slug")
@click.option("--name", default=None, help="Display name (default: the slug).")
def create_tenant(workspace_slug, tenant_slug, name):
    """Create TENANT_SLUG in WORKSPACE_SLUG; prints its id and public uuid."""
    tenant = _commit_or_fail(lambda: accounts.create_tenant(workspace_slug, tenant_slug, name))
    emit(
        {
            "id": tenant.id,
            "uuid": tenant.uuid,
            "slug": tenant.slug,
            "name": tenant.name,
            "workspace": workspace_slug,
        }
    )


@members.command("add")
@click.argument("email")
@click.argument("workspace_slug")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option(
    "--tenant",
    "tenant_slugs",
    multiple=True,
    help="Grant this tenant (operators and viewers; repeatable).",
)
def add_member(email, workspace_slug, role, tenant_slugs):
    """Make EMAIL a member of WORKSPACE_SLUG with a role and tenant grants."""
    membership, granted, created = _commit_or_fail(
        lambda: accounts.add_member(email, workspace_slug, role, tenant_slugs)
    )
    emit(
        {
            "email": accounts.normalize_email(email),
            "workspace": workspace_slug,
            "role": membership.role,
            "tenants": "all" if membership.role == "owner" else granted,
            "created": created,
        }
    )


def register(app):
    """Attach the account groups to ``app``."""
    for group in (users, workspaces, tenants, members):
        app.cli.add_command(group)
