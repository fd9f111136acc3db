"""Facts about each tenant's runs, read once per sweep for a whole workspace and composed
for each visibility from the rows of the tenants it may see.

A tenant's counts (its active, late, likely stale and follow-up runs) are the same for
every viewer who may see that tenant, and the workspace-level runs' counts are the same for
every viewer of the workspace. So while a live sweep is open (``app.pages.use_memo``), the
first page that needs them reads them for every tenant of the workspace in one go, and each
page keeps only the rows of its own visibility (``Scope.can_see_tenant``): a page never
holds another tenant's row, so it cannot show it. Without a sweep (a route) every page reads
its own visibility's rows, as before; both give the same figures (the live tests compare a
live render with the route's, byte for byte, for several visibilities).
"""

import json
from dataclasses import replace

from app.operations.queries import Count
from app.operations.reads import Activity, RunReads
from app.pages import sweep_memo
from app.presenter.runs import run_views as presenter_run_views
from app.presenter.runs import view_maker

STALE_CAP = 999


def _whole_workspace(reads):
    """The same reads over every run of the scope's workspace (for composing only)."""
    return RunReads(replace(reads.scope, tenant_ids=None), reads.policy, reads.now)


def activity_by_tenant(reads):
    """{tenant id or None: Activity} of the runs ``reads`` may see (RunReads' own rule:
    tenants without active or follow-up runs are absent)."""
    memo, scope = sweep_memo(), reads.scope
    if memo is None:
        return reads.activity_by_tenant()
    key = ("activity_by_tenant", ("workspace", scope.workspace_id), reads.now)
    every = memo.get(key, lambda: _whole_workspace(reads).activity_by_tenant())
    return {tenant: a for tenant, a in every.items() if scope.can_see_tenant(tenant)}


def tenant_activity(reads, tenant_id):
    """The Activity of one tenant ``reads`` may see."""
    if sweep_memo() is None or not reads.scope.can_see_tenant(tenant_id):
        return reads.tenant_activity(tenant_id)
    return activity_by_tenant(reads).get(tenant_id, Activity())


def likely_stale_total(reads):
    """How many runs ``reads`` may see are likely stale, capped at STALE_CAP (a likely
    stale run is an active one, so in a sweep this is the sum of the visible rows)."""
    if sweep_memo() is None:
        return reads.likely_stale_total(STALE_CAP)
    value = sum(a.likely_stale for a in activity_by_tenant(reads).values())
    return Count(min(value, STALE_CAP), value > STALE_CAP)


def stale_count(reads):
    """The viewer's likely stale runs in the workspace, for the title and favicon of every
    page (``data-stale-count`` on ``#page-content``; js/live.js shows it)."""
    count = likely_stale_total(reads)
    return f"{count.value}+" if count.capped else str(count.value)


def _every_tenant(scope):
    """The rows of every tenant of the scope's workspace, by name, read once per sweep."""
    whole = replace(scope, tenant_ids=None)
    return sweep_memo().get(("tenant_rows", ("workspace", scope.workspace_id)), whole.tenant_rows)


def tenant_rows(scope):
    """The tenants ``scope`` may see, by name (``Scope.tenant_rows``)."""
    if sweep_memo() is None:
        return scope.tenant_rows()
    return [t for t in _every_tenant(scope) if scope.can_see_tenant(t.id)]


def tenant_by_uuid(scope, tenant_uuid):
    """The tenant ``scope`` may see with this uuid, or None (``Scope.tenant_by_uuid``)."""
    if sweep_memo() is None:
        return scope.tenant_by_uuid(tenant_uuid)
    key = str(tenant_uuid)
    return next((t for t in tenant_rows(scope) if t.uuid == key), None)


def tenant_by_id(scope, tenant_id):
    """The tenant ``scope`` may see with this id, or None (``Scope.tenant_by_id``)."""
    if sweep_memo() is None:
        return scope.tenant_by_id(tenant_id)
    return next((t for t in tenant_rows(scope) if t.id == tenant_id), None)


def last_reported(reads, tenant_ids):
    """{tenant id: when its newest run was reported} for the visible ``tenant_ids``
    (``RunReads.last_reported``); read for every tenant of the workspace once per sweep."""
    memo, scope = sweep_memo(), reads.scope
    if memo is None:
        return reads.last_reported(tenant_ids)

    def every():
        ids = [t.id for t in _every_tenant(scope)]
        return _whole_workspace(reads).last_reported(ids)

    found = memo.get(("last_reported", ("workspace", scope.workspace_id), reads.now), every)
    return {t: found[t] for t in tenant_ids if t in found and scope.can_see_tenant(t)}


def run(reads, run_id):
    """The RunRead of run ``run_id`` if ``reads`` may see it, else None (``RunReads.run``);
    read once per sweep for every viewer of the workspace, each keeping it only when the
    run's tenant is one it may see."""
    memo, scope = sweep_memo(), reads.scope
    if memo is None:
        return reads.run(run_id)
    key = ("run", ("workspace", scope.workspace_id), reads.now, run_id)
    found = memo.get(key, lambda: _whole_workspace(reads).run(run_id))
    return found if found is not None and scope.can_see_tenant(found.tenant_id) else None


def _columns(run):
    """A RunRead as a hashable key: JSON values (the context) as their sorted text."""
    return tuple(
        json.dumps(v, sort_keys=True, default=str) if isinstance(v, dict | list) else v for v in run
    )


def run_views(runs, *, policy, now, back=None):
    """``presenter.runs.run_views``; in a sweep each view is shared by every page that
    shows the same run (every column equal) at the same ``now`` with the same way
    ``back``: a view is made from those alone, so it is the one the page would make."""
    memo = sweep_memo()
    if memo is None:
        return presenter_run_views(runs, policy=policy, now=now, back=back)
    maker = []

    def make(run):
        if not maker:
            maker.append(view_maker(policy=policy, now=now, back=back))
        return maker[0](run)

    return [memo.get(("run_view", _columns(r), now, back), lambda r=r: make(r)) for r in runs]
