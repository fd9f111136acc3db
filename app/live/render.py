"""Render a watched page from its page model, and plan its next time-only change.

``render(watch, scope, now)`` builds the page with the same function its route uses
(``app.pages``) and returns a Turbo Stream morphing ``#page-content``; links are built by
the app's URL map bound outside any request (``render_context``).

``plan(watch, scope, now)`` names the next instant the page changes by the passing of time
alone: a run's freshness transition, the reconciler's next pass, or at the latest
``REFRESH_SECONDS`` from now, so that sentences with durations in them ("no heartbeat for
47 min") never stay behind by more than that.
"""

from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from app.live.registry import (
    WATCH_LIST,
    WATCH_RECONCILER,
    WATCH_RUN,
    WATCH_TENANT,
    WATCH_WORKSPACE,
)
from app.models import OperationRun
from app.models.runs import run_records
from app.operations import get_policy
from app.operations.freshness import active_clause, freshness
from app.operations.reconciler_status import reconciler_status
from app.pages import (
    PageArgs,
    content_stream,
    detail,
    operations,
    overview,
    reconciler,
    render_page,
    visibility_of,
)
from app.pages import tenant as tenant_page

PLAN_LIMIT = 5000
REFRESH_SECONDS = 30
RECONCILER_MARGIN = timedelta(seconds=1)
BUILDERS = {
    WATCH_WORKSPACE: overview.build,
    WATCH_TENANT: tenant_page.build,
    WATCH_LIST: operations.build,
    WATCH_RUN: detail.build,
    WATCH_RECONCILER: reconciler.build,
}


def page_args(watch):
    """The PageArgs the route received for the watched page."""
    return PageArgs(dict(watch.view_args), dict(watch.args), watch.page)


def build(watch, scope, now):
    """The page model of ``watch`` seen with ``scope`` (raises HTTPException like the route)."""
    return BUILDERS[watch.kind](scope, page_args(watch), now)


def render(watch, scope, now, as_of=None):
    """The Turbo Stream that brings an open ``watch`` page up to date, or None."""
    if scope is None or watch.endpoint is None:
        return None
    page = build(watch, scope, now)
    if as_of is not None:
        page = type(page)(page.template, page.context, as_of)
    return content_stream(render_page(page, fragment=True))


def render_context(app):
    """An app context whose links are built by the URL map alone (paths, no request)."""
    ctx = app.app_context()
    ctx.url_adapter = app.url_map.bind("localhost", script_name=app.config["APPLICATION_ROOT"])
    return ctx


def plan(watch, scope, now, memo=None):
    """(instant, run ids) of the page's next change by time alone (never None for live pages).

    ``memo`` (a ``SweepMemo`` kept for one sweep) shares the upcoming transitions of a
    whole visibility between all its pages: one read per visibility per sweep instead of
    one per page; a page about one tenant or one run takes its own runs from it (or reads
    them itself when the visibility has more active runs than one read takes).
    """
    if scope is None or watch.endpoint is None:
        return None
    latest = now + timedelta(seconds=REFRESH_SECONDS)
    if watch.kind == WATCH_RECONCILER:
        next_pass = reconciler_status(now).next_pass_at
        if next_pass is not None and now < next_pass + RECONCILER_MARGIN < latest:
            return next_pass + RECONCILER_MARGIN, ()
        return latest, ()
    narrow = _narrowed(watch)
    if memo is None:
        upcoming = _upcoming(_watched_active_runs(scope, narrow), now)
    else:
        read = memo.get(("plan", visibility_of(scope)), lambda: _read_upcoming(scope, now))
        upcoming = _narrow_upcoming(read, watch, narrow, scope, now)
    first = min(upcoming, default=None)
    if first is None or first > latest:
        return latest, ()
    return first, tuple(upcoming[first])


def _read_upcoming(scope, now):
    """Every active run of the scope with its next transition: ([(at, id, tenant_id)],
    whether the read took all of them)."""
    rows, policy = [], get_policy()
    records = run_records(db.session.execute(_watched_active_runs(scope, None).limit(PLAN_LIMIT)))
    for run in records:
        at = freshness(run, policy, now).next_transition_at
        if at is not None:
            rows.append((at, run.id, run.tenant_id))
    return rows, len(records) < PLAN_LIMIT


def _narrow_upcoming(read, watch, narrow, scope, now):
    rows, complete = read
    if narrow is not None and not complete:
        return _upcoming(_watched_active_runs(scope, narrow), now)
    upcoming = {}
    for at, run_id, tenant_id in rows:
        if narrow is None or (run_id if watch.kind == WATCH_RUN else tenant_id) == narrow[1]:
            upcoming.setdefault(at, []).append(run_id)
    return upcoming


def _upcoming(query, now):
    upcoming, policy = {}, get_policy()
    for run in run_records(db.session.execute(query.limit(PLAN_LIMIT))):
        at = freshness(run, policy, now).next_transition_at
        if at is not None:
            upcoming.setdefault(at, []).append(run.id)
    return upcoming


def _narrowed(watch):
    """The one column and value that narrow the page's runs, or None for all of the scope."""
    if watch.kind == WATCH_TENANT or (watch.kind == WATCH_LIST and watch.tenant_id):
        return OperationRun.tenant_id, watch.tenant_id
    if watch.kind == WATCH_RUN:
        return OperationRun.id, watch.run_id
    return None


def _watched_active_runs(scope, narrow):
    query = sa.select(OperationRun.__table__).where(scope.run_filter(), active_clause())
    if narrow is not None:
        column, value = narrow
        query = query.where(column == value)
    return query
