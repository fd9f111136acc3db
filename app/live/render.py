"""Render a watched page from its page model, and plan its next time-only change.

``render(watch, scope, now)`` builds the page with the same function its route uses
(``app.pages``) and returns a Turbo Stream morphing ``#page-content``; links are built by
the app's URL map bound outside any request (``render_context``).

``plan(watch, scope, now)`` names the next instant the page changes by the passing of time
alone: a run's freshness transition, the reconciler's next pass, a run leaving a window the
page counts (``app.live.windows``). Durations, relative times and a likely stale run's
"closes 14:32 UTC" change in the browser from the instants in the markup, and the title's
likely stale count has its own message (``app.live.counts``), so nothing else changes
with time. A page
is still rendered at the latest ``REFRESH_SECONDS`` after its last render, a safety net
that costs little: at 1,000 open pages in 165 groups, one render every 1.8 s.
"""

from dataclasses import replace
from datetime import timedelta

from app.live import windows
from app.live.registry import (
    WATCH_LIST,
    WATCH_RECONCILER,
    WATCH_RUN,
    WATCH_TENANT,
    WATCH_WORKSPACE,
)
from app.operations import get_policy
from app.operations.reads import RunReads
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
REFRESH_SECONDS = 300
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

    ``memo`` (a ``SweepMemo`` kept for one sweep) shares the upcoming transitions of the
    whole workspace between all its pages, each keeping the runs of the tenants its scope
    may see: one read per workspace per sweep instead of one per page; a page about one
    tenant or one run takes its own runs from it (or reads them itself when the workspace
    has more active runs than one read takes).
    """
    if scope is None or watch.endpoint is None:
        return None
    latest = now + timedelta(seconds=REFRESH_SECONDS)
    reads = RunReads(scope, get_policy(), now)
    status = _reconciler_status(memo, now) if _shows_reconciler(watch, scope) else None
    later = min([latest, *windows.changes(watch, reads, status)])
    if watch.kind == WATCH_RECONCILER:
        next_pass = status.next_pass_at
        if next_pass is not None and now < next_pass + RECONCILER_MARGIN < later:
            return next_pass + RECONCILER_MARGIN, ()
        return later, ()
    narrow = _narrowed(watch)
    if memo is None:
        upcoming = reads.upcoming_transitions(limit=PLAN_LIMIT, **narrow)
    else:
        upcoming = _narrow_upcoming(_shared_transitions(memo, reads), narrow, reads)
    first = min(upcoming, default=None)
    if first is None or first > later:
        return later, ()
    return first, tuple(upcoming[first])


def _shows_reconciler(watch, scope):
    """The reconciler's page, and the overview of an owner (its stale warning)."""
    return watch.kind == WATCH_RECONCILER or (
        watch.kind == WATCH_WORKSPACE and scope.role == "owner"
    )


def _reconciler_status(memo, now):
    if memo is None:
        return reconciler_status(now)
    return memo.get(("reconciler_status", now), lambda: reconciler_status(now))


def _shared_transitions(memo, reads):
    """The transitions of every active run ``reads.scope`` may see, from one read of the
    whole workspace per sweep (each row names its run's tenant; a row is kept only when the
    scope may see that tenant), or from one read per visibility when the workspace has
    more active runs than one read takes."""
    scope = reads.scope

    def every():
        whole = RunReads(replace(scope, tenant_ids=None), reads.policy, reads.now)
        return whole.transitions(PLAN_LIMIT)

    rows, complete = memo.get(("plan", ("workspace", scope.workspace_id)), every)
    if not complete:
        return memo.get(("plan", visibility_of(scope)), lambda: reads.transitions(PLAN_LIMIT))
    return [row for row in rows if scope.can_see_tenant(row[2])], True


def visible_transitions(memo, reads):
    """[(instant, run id, tenant id)] of the next time-only change of every active run
    ``reads.scope`` sees (shared by the sweep's ``memo`` when there is one)."""
    if memo is None:
        return reads.transitions(PLAN_LIMIT)[0]
    return _shared_transitions(memo, reads)[0]


def _narrow_upcoming(read, narrow, reads):
    """{instant: run ids} of the page's runs from the visibility's shared ``read`` (or read
    for the page alone when the shared read did not take every active run)."""
    rows, complete = read
    if narrow and not complete:
        return reads.upcoming_transitions(limit=PLAN_LIMIT, **narrow)
    key, value = next(iter(narrow.items())) if narrow else (None, None)
    upcoming = {}
    for at, run_id, tenant_id in rows:
        if key is None or (run_id if key == "run_id" else tenant_id) == value:
            upcoming.setdefault(at, []).append(run_id)
    return upcoming


def _narrowed(watch):
    """What narrows the page's runs (a tenant or a run), or {} for all of the scope."""
    if watch.kind == WATCH_TENANT or (watch.kind == WATCH_LIST and watch.tenant_id):
        return {"tenant_id": watch.tenant_id}
    if watch.kind == WATCH_RUN:
        return {"run_id": watch.run_id}
    return {}
