"""Lanes of renders, one order per group.

The live worker feeds each dirty group to one of two lanes of sweeps (``RenderQueue``,
``LaneSweeps``): pages about one run or tenant, cheap and each waiting for one change, and
the wide pages (the overview, unfiltered lists), most of the work; so a narrow page never
waits for a sweep of the wide ones.

Time-only changes have an instant: a due group is rendered by its own lane (the worker's
due thread, ``Dispatcher.process_due``) as soon as its instant comes, not after the change
sweep in progress, which at scale takes seconds and would show the flip late, or never when
the run completes meanwhile. The lanes may then render one group at the same time;
``RenderOrder`` lets one group's renders take turns, and no render of a group uses an
earlier ``now`` than one already shown to it (a sweep that began before the instant would
otherwise push the page from before the flip after the flip).
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

from app.extensions import db
from app.live import timing
from app.live.groups import cheapest_first, group_key
from app.live.pacing import is_wide
from app.live.render import render_context
from app.operations.clock import get_clock
from app.pages import SweepMemo, use_memo


@dataclass
class Work:
    """What one sweep (or lane) takes: changes, catch-ups, due groups and their instants."""

    changes: list
    catch_ups: list
    due: list
    as_of: object
    now: object = None
    partial: set = field(default_factory=set)
    taken: float = field(default_factory=timing.now)  # wall clock, for the timing log


class RenderOrder:
    """One render at a time per group, each at a ``now`` no earlier than the last one's."""

    def __init__(self):
        self._lock = threading.Lock()
        self._groups = {}  # group key -> [its turn's lock, the latest now rendered]

    @contextmanager
    def turn(self, key, now):
        """Wait for the group's turn; yields the ``now`` to render it at."""
        with self._lock:
            entry = self._groups.setdefault(key, [threading.Lock(), None])
        with entry[0]:
            if entry[1] is not None and entry[1] > now:
                now = entry[1]
            entry[1] = now
            yield now

    def latest(self, key):
        """The latest ``now`` a render of group ``key`` used (None: none yet)."""
        with self._lock:
            entry = self._groups.get(key)
        return None if entry is None else entry[1]

    def forget(self, keys):
        """Drop groups no longer open (``keys``: those still open)."""
        with self._lock:
            for key in [k for k in self._groups if k not in keys]:
                del self._groups[key]


class _Job:
    """A group waiting for its render: the latest members and work it was put with."""

    __slots__ = ("key", "members", "work", "full")

    def __init__(self, key, members, work, full):
        self.key, self.members, self.work, self.full = key, members, work, full


class RenderQueue:
    """One lane of sweeps: the groups waiting for a render, taken a batch at a time.

    The worker puts each dirty group in as its change is read; the lane's thread takes
    every waiting group at once (``take``) and renders them, cheapest first, sharing one
    ``SweepMemo`` made after every put it serves (a fact read through it is never older
    than the work shown with it). Pages about one run or tenant have a lane of their own,
    so they never wait for a sweep of the wide pages (the overview, unfiltered lists),
    whose renders are most of the work. A group put again before its sweep takes it waits
    once, with the newest work (the changes coalesce); a group put while it renders waits
    for the next sweep.

    While a group waits, its members' data is that of its last render: ``as_of_for`` says
    so, so "current" never claims a change a page does not show yet.
    """

    def __init__(self, order, memo_factory):
        self.order = order  # sort key of a group's members within a sweep
        self.memo_factory = memo_factory
        self._ready = threading.Condition()
        self._jobs = {}  # group key -> _Job waiting
        self._running = set()
        self._held = {}  # waiting group key -> as_of of the data its members have
        self._shown = {}  # group key -> as_of of its last full render

    def put(self, groups, work, fallback):
        """Queue ``groups`` ({key: members}) for ``work``; ``fallback`` is the as_of members
        of a group never rendered here have (the data every page had before ``work``)."""
        with self._ready:
            for key, members in groups.items():
                full = key not in work.partial
                job = self._jobs.get(key)
                if job is None:
                    self._jobs[key] = _Job(key, members, work, full)
                else:
                    known = {c.id for c in members}
                    job.members = members + [c for c in job.members if c.id not in known]
                    job.work, job.full = work, job.full or full
                if full and key not in self._held:
                    self._held[key] = self._shown.get(key, fallback)
            self._ready.notify_all()

    def take(self, timeout):
        """(the waiting groups not rendering now, in order, their memo), or ([], None)
        after ``timeout`` seconds without any; the groups are running until ``done``."""
        with self._ready:
            if not self._free():
                self._ready.wait(timeout)
            jobs = sorted(self._free(), key=lambda job: self.order(job.members))
            for job in jobs:
                del self._jobs[job.key]
                self._running.add(job.key)
            return jobs, (self.memo_factory() if jobs else None)

    def _free(self):
        return [job for key, job in self._jobs.items() if key not in self._running]

    def done(self, job, as_of):
        """``job``'s render (data of ``as_of``, None when it failed) reached its members."""
        with self._ready:
            self._running.discard(job.key)
            if job.full and as_of is not None:
                self._shown[job.key] = as_of
                waiting = self._jobs.get(job.key)
                if waiting is not None and waiting.full:
                    self._held[job.key] = as_of  # a newer change still waits
                else:
                    self._held.pop(job.key, None)
            self._ready.notify_all()

    def as_of_for(self, key, as_of):
        """``as_of``, or the data of the group's last render while it waits."""
        with self._ready:
            held = self._held.get(key)
        return held if held is not None and as_of is not None and held < as_of else as_of

    def forget(self, keys):
        """Drop what is known of groups no longer open (``keys``: those still open)."""
        with self._ready:
            for known in (self._held, self._shown):
                for key in [k for k in known if k not in keys]:
                    del known[key]

    def wake(self):
        with self._ready:
            self._ready.notify_all()


class LaneSweeps:
    """The live worker's side of a ``Dispatcher``: dirty groups fed to two lanes
    (``RenderQueue``), narrow pages and wide pages, each swept by a thread of its own.
    Mixed into the Dispatcher, whose work, groups and renders it uses; the due lane
    (``process_due``) renders time-only changes beside them."""

    def process_due(self):
        """The due lane: render the groups whose time-only change has come, on the caller's
        thread and database session, whatever sweep runs meanwhile. Returns pages queued."""
        now = get_clock(self.app).now()
        due = self.schedule.pop_due(now)
        if self.queued:  # the lane keeps to time-only changes; wide groups take the queue
            self._queue_paced([item for item in due if item[1].paced], now)
            due = [item for item in due if not item[1].paced]
        if not due:
            return 0
        work, memo = Work([], [], due, None, now), SweepMemo()  # due together: shared reads
        with render_context(self.app):
            use_memo(memo)
            try:
                groups = self._dirty([c for c in self.registry.snapshot() if not c.closing], work)
                ordered = sorted(groups.values(), key=cheapest_first)
                return sum(self._render_group(members, work, now, memo) for members in ordered)
            finally:
                use_memo(None)
                db.session.remove()

    def _queue_paced(self, paced, now):
        """Queue the wide groups whose interval ended (their renders read after ``now``)."""
        if paced:
            work = Work([], [], paced, now, now)
            groups = self._dirty([c for c in self.registry.snapshot() if not c.closing], work)
            self._to_lanes(groups, work)

    def feed(self):
        """The worker's side of the lanes (``RenderQueue``, a thread each): take pending
        work and queue its dirty groups, narrow and wide apart, without waiting for their
        renders. Returns the groups queued."""
        work = self._take()
        if not (work.changes or work.catch_ups or work.due):
            if work.as_of is not None:
                self.as_of = work.as_of
            return 0
        with render_context(self.app):
            try:
                groups = self._dirty(self._clients(), work)
            finally:
                db.session.remove()
        read_at = work.as_of
        if read_at is None:  # catch-ups alone: their renders read after this instant
            work.as_of = work.now
        self._to_lanes(groups, work)  # held before as_of moves on
        if read_at is not None:
            self.as_of = read_at
        return len(groups)

    def _to_lanes(self, groups, work):
        for wide, lane in self.lanes.items():
            mine = {key: members for key, members in groups.items() if is_wide(key[0]) == wide}
            if mine:
                lane.put(mine, work, self.as_of)

    def sweep_lane(self, wide, timeout):
        """A lane's sweep: render every group waiting in it (``feed``), waiting up to
        ``timeout`` seconds for one, on ``LIVE_RENDER_THREADS`` threads of the lane's own.
        Returns pages queued."""
        lane = self.lanes[wide]
        jobs, memo = lane.take(timeout)
        if not jobs:
            return 0
        now = get_clock(self.app).now()  # one instant per sweep: the memo's keys hold it
        threads = self.app.config.get("LIVE_RENDER_THREADS", 1)
        if threads <= 1 or len(jobs) <= 1:
            return sum(self._render_job(lane, job, now, memo) for job in jobs)
        pool = self._lane_pools.get(wide)
        if pool is None:
            name = f"runwarden-live-{'wide' if wide else 'narrow'}"
            pool = self._lane_pools[wide] = ThreadPoolExecutor(threads, thread_name_prefix=name)
        return sum(pool.map(lambda job: self._render_job(lane, job, now, memo), jobs))

    def _render_job(self, lane, job, now, memo):
        queued = shown = None
        with render_context(self.app):
            use_memo(memo)
            try:
                with self.order.turn(group_key(job.members[0]), now) as now:
                    queued = self._render_turn(job.members, job.work, now, memo)
                    shown = job.work.as_of if queued is not None else None
            finally:
                use_memo(None)
                db.session.remove()
                lane.done(job, shown)
        return queued or 0
