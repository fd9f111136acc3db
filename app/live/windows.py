"""When a live page changes by time alone, beyond its runs' own transitions.

Some facts count the runs of a sliding window: the follow-ups of the follow-up window and
of the last 24 h, the 7-day type summary of a tenant, a list filtered to the last hour or
day. The earliest run in such a window leaves it at a known instant, and the page's counts
and rows change then without any report. The reconciler's page (and the overview's stale
warning) change when a pass is overdue, a lease lapses or a pass stops counting as
running. ``changes(watch, reads)`` names those instants for one page, so that the live
worker renders the page then, not at some later periodic refresh.
"""

from datetime import timedelta

from app.live.registry import (
    WATCH_LIST,
    WATCH_RECONCILER,
    WATCH_RUN,
    WATCH_TENANT,
    WATCH_WORKSPACE,
)
from app.operations.freshness import TERMINAL_FOLLOW_UP, problem_class
from app.operations.freshness.rule import TICK
from app.operations.reads.widgets import DAY
from app.operations.reconciler_status import STALE_AFTER_INTERVALS
from app.pages import facts, shared
from app.pages.operations import DURATION_RANGE, RANGES, SORT_DURATION
from app.pages.tenant import SUMMARY_DAYS


def changes(watch, reads, status=None):
    """Instants after ``reads.now`` at which the page ``watch`` changes by time alone,
    other than its runs' transitions (``RunReads.transitions``); ``status`` is the
    reconciler's status for the pages that show it (the overview, the reconciler page)."""
    found = []
    if watch.kind == WATCH_RECONCILER:
        found += reconciler_changes(status)
    elif watch.kind == WATCH_WORKSPACE:
        found += _follow_up_exits(reads, None, recent=True)
        found += reconciler_changes(status, page_only=False)
    elif watch.kind == WATCH_TENANT:
        found += _follow_up_exits(reads, watch.tenant_id, recent=True)
        found += _created_exit(reads, watch.tenant_id, timedelta(days=SUMMARY_DAYS))
    elif watch.kind == WATCH_LIST:
        found += _follow_up_exits(reads, watch.tenant_id)
        found += _list_range_exit(reads, watch)
    elif watch.kind == WATCH_RUN:
        found += _run_follow_up_exit(reads, watch.run_id)
    return [at for at in found if at is not None and at > reads.now]


def _follow_up_exits(reads, tenant_id, recent=False):
    """When the earliest counted follow-up (of ``tenant_id``, else of every tenant the scope
    sees) leaves the follow-up window, and (``recent``) the last 24 h."""
    if tenant_id is None:
        every = facts.activity_by_tenant(reads).values()
        firsts = [a.follow_up_first_at for a in every if a.follow_up_first_at]
        recents = [a.follow_up_24h_first_at for a in every if a.follow_up_24h_first_at]
    else:
        activity = facts.tenant_activity(reads, tenant_id)
        firsts = [activity.follow_up_first_at] if activity.follow_up_first_at else []
        recents = [activity.follow_up_24h_first_at] if activity.follow_up_24h_first_at else []
    window = timedelta(seconds=reads.policy.follow_up_window)
    found = [min(firsts) + window + TICK] if firsts else []
    if recent and recents:
        found.append(min(recents) + timedelta(seconds=DAY) + TICK)
    return found


def _created_exit(reads, tenant_id, length):
    """When the earliest visible run created in the last ``length`` (of ``tenant_id``)
    leaves that window."""
    since = reads.now - length
    first = shared(
        reads.scope,
        reads.now,
        "first_created",
        lambda: reads.first_created_since(since, tenant_id),
        tenant_id,
        length,
    )
    return [first + length + TICK] if first is not None else []


def _list_range_exit(reads, watch):
    """A list over a sliding range ("last 24 h") loses its earliest run as time passes."""
    args = dict(watch.args)
    preset = args.get("range") or (DURATION_RANGE if args.get("sort") == SORT_DURATION else None)
    if preset not in RANGES:
        return []
    return _created_exit(reads, watch.tenant_id, timedelta(seconds=RANGES[preset]))


def _run_follow_up_exit(reads, run_id):
    """A completed run needing a follow-up stops needing one when its window ends."""
    run = facts.run(reads, run_id)
    if run is None or problem_class(run, reads.policy, reads.now) != TERMINAL_FOLLOW_UP:
        return []
    return [run.completed_at + timedelta(seconds=reads.policy.follow_up_window) + TICK]


def reconciler_changes(status, page_only=True):
    """When the reconciler's status changes by time alone: it looks stale once no pass has
    finished for its stale-after time; and on its own page (``page_only``) the lease
    lapses and an unfinished newest pass stops counting as running (as interrupted)."""
    if status is None:
        return []
    found = []
    if status.last_success_at is not None and not status.looks_stale:
        found.append(status.last_success_at + timedelta(seconds=status.stale_after_seconds) + TICK)
    if page_only:
        if status.lease_live:
            found.append(status.lease_expires_at + TICK)
        started = status.last_pass_started_at
        if started is not None and (
            status.last_success_at is None or status.last_success_at < started
        ):
            running_for = timedelta(seconds=STALE_AFTER_INTERVALS * status.interval_seconds)
            found.append(started + running_for + TICK)
    return found
