"""Render the Turbo Streams for one group of clients from the same partials as the pages.

``render(watch, scope, runs)`` returns ``replace`` streams (``method="morph"``, so a frame
keeps its element and does not reload its ``src``) for every live element of the watched
page; ``plan(watch, scope, now)`` names the next instant at which that page changes by
the passing of time alone.
"""

from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa
from flask import current_app, render_template
from jinja2 import TemplateNotFound
from markupsafe import Markup, escape
from sqlalchemy.orm import joinedload

from app.blueprints.context import overlay_for, visible_tenants
from app.extensions import db
from app.live.registry import WATCH_LIST, WATCH_RUN, WATCH_TENANT, WATCH_WORKSPACE
from app.models import OperationRun
from app.operations import get_policy
from app.operations.clock import now as clock_now
from app.operations.dashboards import (
    Activity,
    activity_by_tenant,
    attention_runs,
    run_events,
    tenant_activity,
)
from app.operations.freshness import active_clause, freshness
from app.presenter.dashboards import needs_attention, tenant_card, tenant_kpis, workspace_totals
from app.presenter.detail import run_detail
from app.presenter.links import operations_url
from app.presenter.lists import list_args
from app.presenter.runs import run_view

PLAN_LIMIT = 5000
WORKSPACE_TOTALS = "partials/workspace_totals.html"


def render(watch, scope, runs):
    """Streams for a page ``watch`` seen with ``scope`` after ``runs`` changed (or None)."""
    builder = _BUILDERS.get(watch.kind)
    if builder is None or scope is None:
        return None
    with current_app.test_request_context("/"):
        streams = builder(watch, scope, runs, get_policy(), clock_now())
    return Markup("".join(streams)) if streams else None


def replace_stream(html, target):
    """A ``replace`` stream that morphs ``target`` into ``html``."""
    return Markup(
        f'<turbo-stream action="replace" method="morph" target="{escape(target)}">'
        f"<template>{html}</template></turbo-stream>"
    )


def plan(watch, scope, now):
    """(instant, run ids) of the page's next freshness change by time alone, or None."""
    query = _watched_active_runs(watch, scope)
    if query is None:
        return None
    upcoming = {}
    for run in db.session.scalars(query.limit(PLAN_LIMIT)):
        at = freshness(run, get_policy(), now).next_transition_at
        if at is not None:
            upcoming.setdefault(at, []).append(run.id)
    if not upcoming:
        return None
    first = min(upcoming)
    return first, tuple(upcoming[first])


def _watched_active_runs(watch, scope):
    if scope is None:
        return None
    query = scope.runs().where(active_clause())
    if watch.kind == WATCH_TENANT or (watch.kind == WATCH_LIST and watch.tenant_id):
        return query.where(OperationRun.tenant_id == watch.tenant_id)
    if watch.kind in (WATCH_WORKSPACE, WATCH_LIST):
        return query
    if watch.kind == WATCH_RUN:
        return query.where(OperationRun.id == watch.run_id)
    return None


def _tenant_page(watch, scope, runs, policy, now):
    tenant = scope.tenant_by_id(watch.tenant_id)
    if tenant is None:
        return []
    activity = tenant_activity(scope, tenant.id, policy=policy, now=now)
    stale, follow_ups = attention_runs(scope, tenant.id, policy=policy, now=now)
    attention = needs_attention(stale, follow_ups, activity, tenant, policy=policy, now=now)
    return [
        replace_stream(
            render_template(
                "partials/tenant_kpis.html",
                kpis=tenant_kpis(activity, tenant.id, policy.follow_up_window),
            ),
            "tenant-kpis",
        ),
        replace_stream(
            render_template("partials/needs_attention.html", attention=attention),
            "needs-attention",
        ),
        _overlay(scope, tenant, at=now, activity=activity),
        *_rows(runs, policy, now, show_tenant=False),
    ]


def _workspace_page(watch, scope, runs, policy, now):
    activity = activity_by_tenant(scope, policy=policy, now=now)
    cards = [tenant_card(t, activity.get(t.id, Activity())) for t in visible_tenants(scope)]
    streams = [
        replace_stream(render_template("partials/tenant_cards.html", cards=cards), "tenant-cards"),
        *_rows(runs, policy, now, show_tenant=True),
    ]
    if _exists(WORKSPACE_TOTALS):
        totals = workspace_totals(sum(activity.values(), Activity()), policy.follow_up_window)
        html = render_template(WORKSPACE_TOTALS, totals=totals)
        streams.append(replace_stream(html, "workspace-totals"))
    return streams


def _exists(template):
    try:
        current_app.jinja_env.get_template(template)
    except TemplateNotFound:
        return False
    return True


def _list_page(watch, scope, runs, policy, now):
    query = {key: values[-1] for key, values in parse_qs(urlsplit(watch.page).query).items()}
    back = operations_url(**list_args(query))
    streams = list(_rows(runs, policy, now, show_tenant=watch.tenant_id is None, back=back))
    tenant = scope.tenant_by_id(watch.tenant_id) if watch.tenant_id else None
    if tenant is not None:
        streams.append(_overlay(scope, tenant))
    return streams


def _run_page(watch, scope, runs, policy, now):
    run = scope.run(watch.run_id, with_tenant=True)
    if run is None:
        return []
    detail = run_detail(run, run_events(run.id), policy=policy, now=now)
    return [
        replace_stream(render_template("partials/run_status.html", detail=detail), "run-status")
    ]


def _overlay(scope, tenant, **known):
    overlay = overlay_for(scope, tenant, **known)
    html = render_template("partials/active_operations.html", overlay=overlay)
    return replace_stream(html, "active-operations")


def _rows(runs, policy, now, *, show_tenant, back=None):
    ids = [run.id for run in runs]
    if not ids:
        return
    query = (
        sa.select(OperationRun)
        .where(OperationRun.id.in_(ids))
        .options(joinedload(OperationRun.tenant))
    )
    for run in db.session.scalars(query):
        view = run_view(run, policy=policy, now=now, back=back)
        html = render_template("partials/run_row.html", r=view, show_tenant=show_tenant)
        yield replace_stream(html, f"run-row-{run.id}")


_BUILDERS = {
    WATCH_TENANT: _tenant_page,
    WATCH_WORKSPACE: _workspace_page,
    WATCH_LIST: _list_page,
    WATCH_RUN: _run_page,
}
