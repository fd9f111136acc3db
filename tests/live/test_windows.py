"""A live page is planned for the instants time alone changes it, beyond run transitions:
a follow-up leaving its window, a run leaving the 7-day summary or a list's range, a likely
stale run becoming due to be closed, the reconciler looking stale or its lease lapsing."""

from datetime import timedelta

from markupsafe import Markup, escape

from app.live.render import plan
from app.models import ReconcilerLease, ReconcilerPass
from app.operations import freshness as fr
from app.operations.clock import isoformat
from app.operations.freshness import TICK, freshness
from app.presenter.formatting import plain
from app.presenter.guidance import DUE_TO_CLOSE, stale_closing
from tests.conftest import T0
from tests.factories import make_run
from tests.live.conftest import Harness, fragment_of, received, watch_for
from tests.web.html import kpis, parse, tab_counts

HOUR, DAY = 3600, 86400
WEEK = timedelta(days=7)  # the default follow-up window


def _late(now):
    """An instant after every transition and closing time of the world's active runs."""
    return now + timedelta(days=2)


def test_the_first_follow_up_leaving_its_window_is_planned(app, world, policy):
    # tenant a's follow-ups: the failed run (2 h ago) and the reconciled one (1 h ago)
    first = world.runs.failed.completed_at
    exit_at = first + WEEK + TICK
    now = exit_at - timedelta(seconds=10)
    for page in ("/admin", f"/admin/t/{world.a.uuid}", "/admin/operations"):
        watch, scope = watch_for(app, world.owner, page)
        assert plan(watch, scope, now) == (exit_at, ()), page
    watch, scope = watch_for(app, world.owner, f"/admin/operations/{world.runs.failed.id}")
    assert plan(watch, scope, now) == (exit_at, ())
    # once it has left, the next follow-up (the reconciled run, an hour later) is next
    watch, scope = watch_for(app, world.owner, f"/admin/t/{world.a.uuid}")
    second = world.runs.reconciled.completed_at + WEEK + TICK
    assert plan(watch, scope, second - timedelta(seconds=10)) == (second, ())


def test_the_24_hour_count_is_planned_where_it_is_shown(app, world):
    exit_24h = world.runs.failed.completed_at + timedelta(days=1) + TICK
    now = exit_24h - timedelta(seconds=5)
    for page in ("/admin", f"/admin/t/{world.a.uuid}"):
        watch, scope = watch_for(app, world.owner, page)
        assert plan(watch, scope, now)[0] == exit_24h, page
    # the list shows no 24 h count: its next change is the window's, a week on
    watch, scope = watch_for(app, world.owner, "/admin/operations")
    assert plan(watch, scope, now)[0] > exit_24h


def test_a_tab_count_changes_exactly_when_a_follow_up_leaves_its_window(app, world, clock):
    first = world.runs.failed.completed_at
    exit_at = first + WEEK + TICK
    clock.set(exit_at - timedelta(seconds=20))
    h = Harness(app)
    page = h.open(world.owner, "/admin/operations")
    h.dispatcher.catch_up(page, None)
    assert h.dispatcher.process() == 1
    before = tab_counts(parse(fragment_of(received(page))))
    assert h.dispatcher.schedule.next_at() == exit_at

    clock.set(exit_at - TICK)
    assert h.dispatcher.process() == 0 and received(page) is None
    clock.set(exit_at)
    assert h.dispatcher.process() == 1
    after = tab_counts(parse(fragment_of(received(page))))
    assert after[fr.TERMINAL_FOLLOW_UP] == before[fr.TERMINAL_FOLLOW_UP] - 1
    assert after["all"] == before["all"]


def test_the_tenant_kpi_of_24_hours_drops_at_its_instant(app, world, clock):
    exit_24h = world.runs.failed.completed_at + timedelta(days=1) + TICK
    clock.set(exit_24h - timedelta(seconds=3))
    h = Harness(app)
    page = h.open(world.owner, f"/admin/t/{world.a.uuid}")
    h.dispatcher.catch_up(page, None)
    h.dispatcher.process()
    before = kpis(parse(fragment_of(received(page))))
    clock.set(exit_24h)
    assert h.dispatcher.process() == 1
    after = kpis(parse(fragment_of(received(page))))
    assert after["follow_up_24h"] == before["follow_up_24h"] - 1 == 1


def test_the_7_day_summary_and_a_list_range_lose_their_earliest_run_on_time(app, world, db):
    old = make_run(world.ws, world.a, now=T0 - timedelta(days=6), status="completed")
    now = old.created_at + WEEK - timedelta(seconds=10)
    watch, scope = watch_for(app, world.owner, f"/admin/t/{world.a.uuid}")
    assert plan(watch, scope, now) == (old.created_at + WEEK + TICK, ())

    hour_old = make_run(world.ws, world.b, now=T0, status="completed", age=HOUR - 30)
    for page in (
        "/admin/operations?range=1h",
        f"/admin/operations?range=1h&tenant_id={world.b.id}",
    ):
        watch, scope = watch_for(app, world.owner, page)
        at, _ = plan(watch, scope, T0)
        assert at == hour_old.created_at + timedelta(seconds=HOUR) + TICK, page
    # a list without a range has no such instant
    watch, scope = watch_for(app, world.owner, f"/admin/operations?tenant_id={world.b.id}")
    assert plan(watch, scope, T0)[0] != hour_old.created_at + timedelta(seconds=HOUR) + TICK


def test_a_viewer_plans_by_the_tenants_it_sees_only(app, world, db):
    # a follow-up of tenant b leaving its window soon: the viewer (tenant a only) ignores it
    soon = make_run(
        world.ws,
        world.b,
        now=T0 - WEEK + timedelta(seconds=20),
        status="completed",
        outcome="failed",
        completed_ago=0,
    )
    exit_at = soon.completed_at + WEEK + TICK
    watch, scope = watch_for(app, world.owner, "/admin")
    assert plan(watch, scope, T0) == (exit_at, ())
    for page in ("/admin", "/admin/operations"):
        watch, scope = watch_for(app, world.viewer, page)
        assert plan(watch, scope, T0)[0] != exit_at, page


def test_a_likely_stale_run_becoming_due_to_be_closed_needs_no_render(app, world, policy):
    """Its guidance holds both sentences; the browser switches them at the instant."""
    run = world.runs.stale
    closes = freshness(run, policy, T0).reconcile_at
    watch, scope = watch_for(app, world.owner, f"/admin/operations/{run.id}")
    assert plan(watch, scope, closes - timedelta(seconds=5))[0] != closes
    with app.test_request_context("/"):
        words = str(stale_closing(freshness(run, policy, T0), T0))
    iso = isoformat(closes)
    assert f'<span data-until="{iso}">Will be closed as failed at' in words
    assert f'<span data-from="{iso}" hidden>{escape(DUE_TO_CLOSE)}</span>' in words
    closing = "Will be closed as failed at 12:15 UTC unless it reports progress."
    assert plain(Markup(words)) == closing, "JSON and logs: the words of the moment"
    after = freshness(run, policy, closes)
    assert stale_closing(after, closes) == DUE_TO_CLOSE


def _passes(db, *, finished_ago, started_ago=None, lease_for=None, at=T0):
    """A reconciler pass that started ``started_ago`` and finished ``finished_ago`` s
    before ``at`` (None: unfinished), and a lease until ``lease_for`` s after ``at``."""
    start = at - timedelta(seconds=started_ago or finished_ago + 1)
    finished = at - timedelta(seconds=finished_ago) if finished_ago is not None else None
    db.session.add(ReconcilerPass(started_at=start, finished_at=finished, holder="r", scanned=0))
    if lease_for is not None:
        db.session.add(
            ReconcilerLease(
                name="reconciler",
                holder="r",
                acquired_at=start,
                expires_at=at + timedelta(seconds=lease_for),
            )
        )
    db.session.commit()


def test_an_owner_overview_is_planned_for_the_reconciler_looking_stale(app, world, db):
    app.config["RECONCILER_INTERVAL_SECONDS"] = 30  # stale after 90 s without a pass
    now = _late(T0)
    _passes(db, finished_ago=80, at=now)
    stale_at = now + timedelta(seconds=10) + TICK
    watch, scope = watch_for(app, world.owner, "/admin")
    assert plan(watch, scope, now)[0] == stale_at
    watch, scope = watch_for(app, world.viewer, "/admin")  # a viewer sees no such warning
    assert plan(watch, scope, now)[0] != stale_at


def test_the_reconciler_page_is_planned_for_its_lease_lapsing(app, world, db):
    app.config["RECONCILER_INTERVAL_SECONDS"] = 3600
    _passes(db, finished_ago=5, lease_for=12)
    watch, scope = watch_for(app, world.owner, "/admin/reconciler")
    assert plan(watch, scope, T0) == (T0 + timedelta(seconds=12) + TICK, ())


def test_an_unfinished_pass_is_planned_for_when_it_stops_counting_as_running(app, world, db):
    app.config["RECONCILER_INTERVAL_SECONDS"] = 5  # running for at most 3 intervals
    _passes(db, finished_ago=None, started_ago=10)
    watch, scope = watch_for(app, world.owner, "/admin/reconciler")
    assert plan(watch, scope, T0) == (T0 + timedelta(seconds=5) + TICK, ())
