"""From changed runs to page updates, rendered once per group, only for entitled clients.

Each group of clients (``groups.py``: one page, one visibility) has its page built once
(``render``) and queued in every member's mailbox. Work arrives from the relay (changes,
with the instant the feed was read), from new sockets (catch up since their page's data)
and from the schedule of time-only transitions; ``process()`` handles everything pending
in one sweep, so a burst of changes costs one render per group.
"""

import logging
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from werkzeug.exceptions import HTTPException

from app.extensions import db
from app.live import keeper, timing
from app.live.counts import Counts
from app.live.groups import cheapest_first, concerns, group_key, may_be_behind
from app.live.lanes import RenderOrder
from app.live.pacing import Pacing
from app.live.reconciler_pages import ReconcilerPages
from app.live.registry import WATCH_RECONCILER
from app.live.render import plan, render, render_context, visible_transitions
from app.live.timer import Due, Schedule
from app.operations.clock import get_clock
from app.pages import SweepMemo, use_memo
from app.sqlite import one_shared_connection

log = logging.getLogger(__name__)
GONE = "revoked This page is no longer available to you."


@dataclass
class _Work:
    changes: list
    catch_ups: list
    due: list
    as_of: object
    now: object = None
    partial: set = field(default_factory=set)
    taken: float = field(default_factory=timing.now)  # wall clock, for the timing log


class Dispatcher:
    """Collects work (``submit``, ``catch_up``, due transitions) and ``process``es it."""

    def __init__(self, app, registry, scope_ttl=3.0):
        self.app = app
        self.registry = registry
        self.scope_ttl = scope_ttl
        self.schedule = Schedule()
        self.as_of = None  # data of every page is current up to here (the feed's read time)
        self._reconciler = ReconcilerPages()
        self._pool = None
        self._counting = threading.Lock()
        self.renders = 0
        self.errors = 0
        self.last_memo = None
        self.kept_apart = False  # a keeper thread re-checks entitlements (LiveWorker)
        self.due_apart = False  # a due lane renders time-only changes (LiveWorker)
        self.order = RenderOrder()
        self.pacing = Pacing(self.schedule)
        self.counts = Counts(self.schedule)
        self._queue = deque()
        self._wake = threading.Condition()

    # -- input (any thread) -------------------------------------------------------------

    def submit(self, changes, as_of):
        """The relay read the feed at ``as_of`` and found ``changes`` (possibly none)."""
        self._put(("changes", list(changes), as_of))

    __call__ = submit

    def catch_up(self, client, since):
        """A new socket whose page shows data as of ``since``: bring it up to date."""
        self.counts.joined(client, since)
        self._put(("catch_up", client, since))

    def _put(self, item):
        with self._wake:
            self._queue.append(item)
            self._wake.notify()

    def wait(self, timeout):
        """Sleep until work arrives or ``timeout`` seconds pass (the worker's loop)."""
        with self._wake:
            if not self._queue:
                self._wake.wait(timeout)

    # -- processing (the worker thread; tests call it directly) -------------------------

    def process(self):
        """Handle everything pending and every due transition. Returns pages queued."""
        work = self._take()
        if not (work.changes or work.catch_ups or work.due):
            if work.as_of is not None:
                self.as_of = work.as_of
            return 0
        with render_context(self.app):
            try:
                clients = self._clients()
                memo, now = SweepMemo(), get_clock(self.app).now()
                queued = self._render_groups(self._dirty(clients, work), work, memo, now)
                self._recount(clients, work, memo, now)
            finally:
                db.session.remove()
        if work.as_of is not None:
            self.as_of = work.as_of
        return queued

    def process_due(self):
        """The due lane: render the groups whose time-only change has come, on the caller's
        thread and database session, whatever sweep runs meanwhile. Returns pages queued."""
        now = get_clock(self.app).now()
        due = self.schedule.pop_due(now)
        if not due:
            return 0
        work, memo = _Work([], [], due, None, now), SweepMemo()  # due together: shared reads
        with render_context(self.app):
            use_memo(memo)
            try:
                clients = [c for c in self.registry.snapshot() if not c.closing]
                groups = self._dirty(clients, work)
                ordered = sorted(groups.values(), key=cheapest_first)
                queued = sum(self._render_group(members, work, now, memo) for members in ordered)
                self._recount(clients, work, memo, now)
                return queued
            finally:
                use_memo(None)
                db.session.remove()

    def lanes_allowed(self):
        """Whether renders may run on several threads (not on one shared connection)."""
        with self.app.app_context():
            return not one_shared_connection(db.engine)

    def _clients(self):
        """The clients a sweep serves: re-checked here unless a keeper thread does it."""
        if self.kept_apart:
            return [c for c in self.registry.snapshot() if not c.closing]
        return self.refresh(self.registry.snapshot())

    def as_of_for(self, client):
        """Up to when every change is on ``client``'s page: the dispatcher's ``as_of``, or
        the data of its last push while its group waits (``Pacing``)."""
        if client.scope is None:
            return self.as_of
        return self.pacing.as_of_for(group_key(client), self.as_of)

    def _take(self):
        with self._wake:
            items, self._queue = list(self._queue), deque()
        now = get_clock(self.app).now()
        due = [] if self.due_apart else self.schedule.pop_due(now)
        work = _Work([], [], due, None, now)
        for kind, payload, extra in items:
            if kind == "changes":
                work.changes.extend(payload)
                work.as_of = extra if work.as_of is None else max(work.as_of, extra)
            else:
                work.catch_ups.append((payload, extra))
        if items:
            work.due.extend(self._reconciler_moved())
        return work

    def _reconciler_moved(self):
        keys = {
            group_key(c)
            for c in self.registry.snapshot()
            if c.watch.kind == WATCH_RECONCILER and c.scope is not None
        }
        return self._reconciler.moved(self.app, keys)

    def _dirty(self, clients, work):
        due = {key for key, _ in work.due}
        catching = {client.id: since for client, since in work.catch_ups}
        touched, groups = {}, {}
        for client in clients:
            if client.scope is None:
                continue
            key = group_key(client)
            if key not in touched:
                touched[key] = key in due or (
                    any(concerns(client, c) for c in work.changes)
                    and not self.pacing.defer(key, work.now, self.app.config["LIVE_WIDE_INTERVAL"])
                )
            if touched[key] or (
                client.id in catching
                and may_be_behind(client, catching[client.id], get_clock(self.app).now())
            ):
                groups.setdefault(key, []).append(client)
            elif client.id in catching and not self.schedule.has(key):
                self._replan(client)
        work.partial = {key for key in groups if not touched[key]}  # catch-ups only
        self.pacing.forget(touched)
        self.order.forget(touched)
        return groups

    def _recount(self, clients, work, memo, now):
        """The likely stale count of narrow pages, brought up to date (``app.live.counts``)."""
        use_memo(memo)
        try:
            self.counts.recount(clients, work, now, lambda r: visible_transitions(memo, r))
        except Exception:
            log.exception("live: counting likely stale runs failed")
            db.session.rollback()
        finally:
            use_memo(None)

    def _render_groups(self, groups, work, memo, now):
        """Render each group once (on ``LIVE_RENDER_THREADS`` threads, each with its own
        database session: a render waits on the database about half of its time), queue it
        for the members, plan the group's next time-only change. Returns pages queued.

        The sweep's renders share one ``SweepMemo``: facts every page of a visibility shows
        (the stale count, tab counts, tenants, a tenant's activity and overlay, upcoming
        transitions) are read once per visibility per sweep."""
        self.last_memo = memo
        ordered = sorted(groups.values(), key=cheapest_first)
        threads = self.app.config.get("LIVE_RENDER_THREADS", 1)
        if one_shared_connection(db.engine):
            threads = 1
        if threads <= 1 or len(ordered) <= 1:
            use_memo(memo)
            try:
                return sum(self._render_group(members, work, now, memo) for members in ordered)
            finally:
                use_memo(None)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(threads, thread_name_prefix="runwarden-live-render")

        def task(members):
            with render_context(self.app):
                use_memo(memo)
                try:
                    return self._render_group(members, work, now, memo)
                finally:
                    db.session.remove()

        return sum(self._pool.map(task, ordered))

    def _render_group(self, members, work, now, memo):
        with self.order.turn(group_key(members[0]), now) as now:
            return self._render_turn(members, work, now, memo)

    def _render_turn(self, members, work, now, memo):
        first, started = members[0], timing.now()
        try:
            stream = render(first.watch, first.scope, now, as_of=work.as_of or now)
        except HTTPException:
            for client in members:
                client.end(GONE)
            return 0
        except Exception:
            with self._counting:
                self.errors += 1
            log.exception("live: rendering %s failed", first.watch.page)
            db.session.rollback()
            return 0
        with self._counting:
            self.renders += 1
            key = group_key(first)
            if key not in work.partial:  # every member has this render now
                self.pacing.rendered(key, now, work.as_of or now)
        queued = self.registry.send(members, stream) if stream else 0
        if timing.enabled():
            timing.rendered(first.watch.page, work, now, started, len(members))
        self._replan(first, memo, keep_earlier=key in work.partial, now=now)
        return queued

    def _replan(self, client, memo=None, keep_earlier=False, now=None):
        """Plan the group's next time-only change after ``now``: the instant its render
        showed (a change between the render and this plan is then still planned, at once),
        so that the plan reads what the sweep's renders read (``memo``)."""
        try:
            found = plan(client.watch, client.scope, now or get_clock(self.app).now(), memo)
        except Exception:
            log.exception("live: planning the next transition of %s failed", client.watch.page)
            db.session.rollback()
            return
        due = Due(found[0], found[1], client.watch, client.scope) if found else None
        planned = self.schedule.get(group_key(client)) if keep_earlier else None
        if planned is None or (due is not None and due.at < planned.at):
            self.schedule.set(group_key(client), due)

    # -- keeping clients honest (app.live.keeper) -----------------------------------------

    def refresh(self, clients):
        """Re-check entitlements and sessions when due; the kept clients (``keeper``)."""
        return keeper.refresh(self.app, clients, self.scope_ttl)

    def keep(self, send_timeout):
        """Drop stuck sockets; re-check entitlements when due (``keeper.keep``)."""
        keeper.keep(self.app, self.registry.snapshot(), send_timeout, self.scope_ttl)
