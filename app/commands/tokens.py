"""``flask tokens create|revoke``: API tokens for workers."""

import click
import sqlalchemy as sa

from app.cli import JsonGroup, emit, fail
from app.extensions import db
from app.models import Workspace
from app.operations.clock import isoformat, now
from app.operations.tokens import TokenError, create_token, find_token, revoke_token

tokens = JsonGroup("tokens", help="Create and revoke API tokens.")


def _token_json(token, workspace):
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "workspace": workspace.slug,
        "workspace_id": workspace.id,
        "created_at": isoformat(token.created_at),
        "revoked_at": isoformat(token.revoked_at),
    }


@tokens.command("create")
@click.argument("workspace_slug")
@click.option("--name", required=True, help="What the token is for, e.g. the worker's name.")
def create(workspace_slug, name):
    """Create a token for WORKSPACE_SLUG; the secret is printed once and never again."""
    workspace = db.session.scalar(sa.select(Workspace).where(Workspace.slug == workspace_slug))
    if workspace is None:
        fail(f"unknown workspace {workspace_slug!r}", workspace=workspace_slug)
    try:
        issued = create_token(workspace, name, now=now())
    except TokenError as exc:
        fail(str(exc), name=name)
    emit({**_token_json(issued.token, workspace), "secret": issued.secret})


@tokens.command("revoke")
@click.argument("token_ref")
def revoke(token_ref):
    """Revoke the token with id or prefix TOKEN_REF."""
    try:
        token = find_token(token_ref)
    except TokenError as exc:
        fail(str(exc), token=token_ref)
    changed = revoke_token(token, now=now())
    workspace = db.session.get(Workspace, token.workspace_id)
    emit({**_token_json(token, workspace), "already_revoked": not changed})


def register(app):
    """Add the ``tokens`` group to ``app``."""
    app.cli.add_command(tokens)
