"""`flask types suggest`: operation type windows suggested from history, as JSON."""

import click
import sqlalchemy as sa

from app.cli import JsonGroup, emit, fail
from app.extensions import db
from app.models import Tenant, Workspace
from app.operations import get_policy
from app.operations.clock import now
from app.operations.insight_report import as_json, parse_window, type_insights
from app.operations.insights import Window
from app.operations.visibility import Scope

types = JsonGroup("types", help="Operation types: windows learned from history.")


def _workspace(slug):
    if slug is None:
        found = db.session.scalars(sa.select(Workspace).limit(2)).all()
        if len(found) != 1:
            fail("name the workspace: --workspace SLUG")
        return found[0]
    workspace = db.session.scalar(sa.select(Workspace).where(Workspace.slug == slug))
    if workspace is None:
        fail(f"no workspace {slug!r}")
    return workspace


def _tenant_id(workspace, slug):
    if slug is None:
        return None
    tenant_id = db.session.scalar(
        sa.select(Tenant.id).where(Tenant.workspace_id == workspace.id, Tenant.slug == slug)
    )
    if tenant_id is None:
        fail(f"no tenant {slug!r} in workspace {workspace.slug!r}")
    return tenant_id


@types.command("suggest")
@click.option("--type", "type_name", help="Only this operation type.")
@click.option("--window", "window_text", default="30d", show_default=True, help="e.g. 7d, 30d")
@click.option("--workspace", "workspace_slug", help="Needed when there are several.")
@click.option("--tenant", "tenant_slug", help="Only the runs of this tenant.")
def suggest(type_name, window_text, workspace_slug, tenant_slug):
    """Percentiles, false alarms and suggested windows per type, with a TOML snippet."""
    try:
        days = parse_window(window_text)
    except ValueError as exc:
        fail(str(exc))
    policy = get_policy()
    if type_name is not None and not policy.knows(type_name):
        fail(f"unknown operation type {type_name!r}", known=policy.names())
    workspace = _workspace(workspace_slug)
    scope = Scope(workspace.id, "owner", None)
    window = Window(scope, now(), days, _tenant_id(workspace, tenant_slug), type_name)
    emit({"workspace": workspace.slug, **as_json(window, type_insights(window, policy))})


def register(app):
    """Add the ``types`` group to ``app``."""
    app.cli.add_command(types)
