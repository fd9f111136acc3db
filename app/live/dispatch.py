"""From changed runs to Turbo Stream pushes, only to the clients entitled to each run.

A client receives a change only when its user's Scope (re-read every ``scope_ttl`` seconds)
may see the run's tenant in the run's workspace and the page it watches shows that run.
Clients with the same page and the same visibility share one rendering.
"""

import logging
import time
from dataclasses import replace
from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from app.live.registry import WATCH_LIST, WATCH_RUN, WATCH_TENANT, WATCH_WORKSPACE
from app.live.timer import Due, Schedule
from app.live.watch import refresh_scope
from app.models import OperationRun, RunChange
from app.operations.clock import get_clock

log = logging.getLogger(__name__)
CATCH_UP_LIMIT = 500


def concerns(client, run):
    """Whether ``run`` may be shown to ``client`` and appears on the page it watches."""
    scope = client.scope
    if scope is None or scope.workspace_id != run.workspace_id:
        return False
    if not scope.can_see_tenant(run.tenant_id):
        return False
    watch = client.watch
    if watch.workspace_id != run.workspace_id:
        return False
    if watch.kind == WATCH_TENANT:
        return run.tenant_id is not None and run.tenant_id == watch.tenant_id
    if watch.kind == WATCH_WORKSPACE:
        return True
    if watch.kind == WATCH_LIST:
        return watch.tenant_id is None or watch.tenant_id == run.tenant_id
    if watch.kind == WATCH_RUN:
        return watch.run_id == run.id
    return False


def visibility_key(scope):
    """Scopes that see the same runs render the same fragments."""
    return (scope.workspace_id, scope.role, scope.tenant_ids)


def group_key(watch, scope):
    """Clients with the same page and the same visibility share renders and transitions."""
    if watch.kind != WATCH_LIST:
        watch = replace(watch, page="")
    return watch, visibility_key(scope)


class Dispatcher:
    """``dispatcher(changes)``: re-read the changed runs, render per group, push.

    With ``plan`` (see ``fragments.plan``), every rendered group is also scheduled for the
    next instant its page changes by time alone; ``fire_due()`` pushes those.
    """

    def __init__(self, app, registry, render, plan=None, scope_ttl=5.0):
        self.app = app
        self.registry = registry
        self.render = render
        self.plan = plan
        self.scope_ttl = scope_ttl
        self.schedule = Schedule()

    def __call__(self, changes):
        clients = self.registry.snapshot()
        if not clients or not changes:
            return 0
        run_ids = {change.run_id for change in changes}
        with self.app.app_context():
            try:
                return self._dispatch(self._refresh_scopes(clients), run_ids)
            finally:
                db.session.remove()

    def catch_up(self, client, since, margin_seconds=2.0, limit=CATCH_UP_LIMIT):
        """A new ``client``: push what changed since ``since`` (its page's render time), plan
        its page's next transition. Returns deliveries."""
        with self.app.app_context():
            try:
                run_ids = set()
                if since is not None:
                    cutoff = since - timedelta(seconds=margin_seconds)
                    query = sa.select(RunChange.run_id).where(RunChange.at >= cutoff)
                    run_ids = set(db.session.scalars(query.distinct().limit(limit)))
                delivered = self._dispatch([client], run_ids) if run_ids else 0
                if client.scope is not None:
                    key = group_key(client.watch, client.scope)
                    if not self.schedule.has(key):
                        self._replan(key[0], client.scope)
                return delivered
            finally:
                db.session.remove()

    def fire_due(self):
        """Push to every group whose planned transition has come. Returns deliveries."""
        due = self.schedule.pop_due(get_clock(self.app).now())
        if not due:
            return 0
        with self.app.app_context():
            try:
                clients = self._refresh_scopes(self.registry.snapshot())
                delivered = 0
                for key, entry in due:
                    members = [c for c in clients if c.scope and group_key(c.watch, c.scope) == key]
                    if members:
                        runs = self._load(entry.run_ids)
                        runs = [run for run in runs if concerns(members[0], run)]
                        groups = [(entry.watch, members[0].scope, runs, members)]
                        delivered += self._push(groups)
                return delivered
            finally:
                db.session.remove()

    def _load(self, run_ids):
        query = sa.select(OperationRun).where(OperationRun.id.in_(sorted(run_ids)))
        return list(db.session.scalars(query.order_by(OperationRun.id)))

    def _dispatch(self, clients, run_ids):
        return self._push(self._groups(clients, self._load(run_ids)))

    def _groups(self, clients, runs):
        groups = {}
        for client in clients:
            relevant = tuple(run for run in runs if concerns(client, run))
            if not relevant:
                continue
            watch, visibility = group_key(client.watch, client.scope)
            key = (watch, visibility, tuple(run.id for run in relevant))
            group = groups.setdefault(key, (watch, client.scope, relevant, []))
            group[3].append(client)
        return groups.values()

    def _push(self, groups):
        delivered = 0
        for watch, scope, runs, clients in groups:
            try:
                stream = self.render(watch, scope, list(runs))
            except Exception:
                log.exception("live: rendering %s fragments failed", watch.kind)
                db.session.rollback()
                continue
            if stream:
                delivered += self.registry.send(clients, stream)
            try:
                self._replan(watch, scope)
            except Exception:
                log.exception("live: planning the next transition of %s failed", watch.kind)
                db.session.rollback()
        return delivered

    def _replan(self, watch, scope):
        if self.plan is None:
            return
        found = self.plan(watch, scope, get_clock(self.app).now())
        due = Due(found[0], found[1], watch, scope) if found else None
        self.schedule.set(group_key(watch, scope), due)

    def _refresh_scopes(self, clients):
        now = time.monotonic()
        kept = []
        for client in clients:
            if client.scope is not None and now - client.scope_checked_at >= self.scope_ttl:
                scope = refresh_scope(client)
                client.scope_checked_at = now
                if scope is None:
                    self.registry.disconnect(client)
                    _close(client)
                    continue
                client.scope = scope
            kept.append(client)
        return kept


def _close(client):
    try:
        client.ws.close(reason=1008, message="no longer entitled")
    except Exception:
        log.debug("live: closing a socket failed", exc_info=True)
