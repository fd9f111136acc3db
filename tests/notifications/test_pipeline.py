"""From a run's transition to one signed message at a real webhook receiver."""

from datetime import timedelta

import sqlalchemy as sa

from app.models import NotificationDelivery, NotificationEvent, NotificationItem
from app.notifications import channels, outbox
from app.notifications.formatting import LISTED_IN_JSON
from app.notifications.sender import run_tick
from app.operations.lifecycle import complete_run, heartbeat
from reconciler.loop import ReconcilerService
from tests.factories import make_run
from tests.notifications.conftest import add_channel, event_runs, received


def tick(clock, seconds=1):
    clock.advance(seconds=seconds)
    return run_tick()


def test_a_failed_run_reaches_the_webhook_once_signed(app, db, space, clock, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    channel = add_channel(space, clock, httpserver.url_for("/hook"))
    run = make_run(space.ws, space.contoso, now=clock.now(), type="inventory_sync")
    complete_run(run, outcome="failed", now=clock.now(), actor="worker", message="boom")
    for _ in range(5):
        tick(clock)
    bodies = received(httpserver, channel)
    assert event_runs(bodies, "failed") == [run.id]
    assert bodies[0]["title"] == "1 run failed in Contoso"
    assert bodies[0]["events"][0]["path"] == f"/admin/operations/{run.id}"


def test_a_succeeded_run_sends_nothing(app, db, space, clock, httpserver):
    add_channel(space, clock, httpserver.url_for("/hook"))
    run = make_run(space.ws, space.contoso, now=clock.now(), type="inventory_sync")
    complete_run(run, outcome="succeeded", now=clock.now(), actor="worker")
    for _ in range(4):
        tick(clock)
    assert httpserver.log == []


def test_time_alone_makes_one_stale_notification_within_one_interval(
    app, db, space, clock, httpserver
):
    """No write at all: the clock passes the deadline and the scheduler finds the run."""
    httpserver.expect_request("/hook").respond_with_data("ok")
    channel = add_channel(space, clock, httpserver.url_for("/hook"), events=["stale"])
    # report_export: running_stale 1200 s, no heartbeat or progress rule.
    run = make_run(space.ws, space.fabrikam, now=clock.now(), type="report_export", age=1190)
    app.config["RECONCILER_INTERVAL_SECONDS"] = 30
    service = ReconcilerService(app, "test")
    try:
        deadline = clock.now() + timedelta(seconds=10)
        for _ in range(60):  # one minute, a tick a second, as the scheduler does
            clock.advance(seconds=1)
            service.tick()
            service.notify()
            if httpserver.log:
                break
        sent_at = clock.now()
        for _ in range(60):
            clock.advance(seconds=1)
            service.tick()
            service.notify()
    finally:
        service.stop()
    bodies = received(httpserver, channel)
    assert event_runs(bodies) == [run.id]
    assert bodies[0]["title"] == "1 run went stale in Fabrikam"
    interval = app.config["RECONCILER_INTERVAL_SECONDS"]
    assert sent_at - deadline <= timedelta(seconds=interval + 5)


def test_stale_then_recovered_by_a_heartbeat(app, db, space, clock, httpserver):
    httpserver.expect_request("/hook").respond_with_data("ok")
    add_channel(space, clock, httpserver.url_for("/hook"))
    # baseline_compare: heartbeat silence stale after 5 min
    run = make_run(space.ws, space.contoso, now=clock.now(), age=100, heartbeat_ago=299)
    for _ in range(5):
        tick(clock)
    heartbeat(run, now=clock.now(), actor="worker")
    for _ in range(5):
        tick(clock)
    bodies = received(httpserver)
    assert [(e["kind"], e["run_id"]) for b in bodies for e in b["events"]] == [
        ("stale", run.id),
        ("recovered", run.id),
    ]
    assert bodies[1]["title"] == "1 run recovered in Contoso"


def test_many_runs_of_one_window_make_one_message(app, db, space, clock, httpserver):
    httpserver.expect_request("/hook").respond_with_data("ok")
    add_channel(space, clock, httpserver.url_for("/hook"))
    runs = [
        make_run(space.ws, space.contoso, now=clock.now(), type="report_export", age=1199)
        for _ in range(7)
    ]
    for _ in range(6):
        tick(clock)
    bodies = received(httpserver)
    assert len(bodies) == 1
    assert bodies[0]["title"] == "7 runs went stale in Contoso"
    assert sorted(event_runs(bodies)) == sorted(r.id for r in runs)


def test_after_the_scheduler_was_down_one_digest(app, db, space, clock, httpserver):
    httpserver.expect_request("/hook").respond_with_data("ok")
    add_channel(space, clock, httpserver.url_for("/hook"), events=["stale"])
    for minutes in range(0, 120, 2):  # one run goes stale every two minutes for two hours
        make_run(
            space.ws, space.contoso, now=clock.now(), type="report_export", age=1200 - minutes * 60
        )
    clock.advance(hours=3)  # nobody looked for three hours
    for _ in range(5):
        tick(clock)
    bodies = received(httpserver)
    assert len(bodies) == 1
    assert bodies[0]["digest"] is True and bodies[0]["total"] == 60
    assert bodies[0]["title"].startswith("Digest for Acme: 60 runs went stale in Contoso")


def test_a_channel_gets_only_its_tenants_and_events(app, db, space, clock, httpserver):
    httpserver.expect_request("/hook").respond_with_data("ok")
    add_channel(
        space, clock, httpserver.url_for("/hook"), events=["failed"], tenant_ids=[space.fabrikam.id]
    )
    mine = make_run(space.ws, space.fabrikam, now=clock.now(), type="inventory_sync")
    theirs = make_run(space.ws, space.contoso, now=clock.now(), type="inventory_sync")
    level = make_run(space.ws, None, now=clock.now(), type="inventory_sync")
    other_ws = make_run(space.other, None, now=clock.now(), type="inventory_sync")
    for run in (mine, theirs, level, other_ws):
        complete_run(run, outcome="failed", now=clock.now(), actor="worker")
    make_run(space.ws, space.fabrikam, now=clock.now(), type="report_export", age=1199)
    for _ in range(5):
        tick(clock)
    assert event_runs(received(httpserver)) == [mine.id]


def test_a_muted_tenant_sends_nothing_until_the_mute_ends(app, db, space, clock, httpserver):
    httpserver.expect_request("/hook").respond_with_data("ok")
    add_channel(space, clock, httpserver.url_for("/hook"), events=["failed"])
    channels.mute_tenant(
        workspace_id=space.ws.id,
        tenant_id=space.contoso.id,
        until=clock.now() + timedelta(hours=1),
        reason="maintenance",
        now=clock.now(),
    )
    db.session.commit()
    muted = make_run(space.ws, space.contoso, now=clock.now(), type="inventory_sync")
    complete_run(muted, outcome="failed", now=clock.now(), actor="worker")
    for _ in range(4):
        tick(clock)
    assert httpserver.log == []
    clock.advance(hours=1)
    later = make_run(space.ws, space.contoso, now=clock.now(), type="inventory_sync")
    complete_run(later, outcome="failed", now=clock.now(), actor="worker")
    for _ in range(4):
        tick(clock)
    assert event_runs(received(httpserver)) == [later.id]


def test_one_event_per_run_and_transition_however_often_it_is_looked_for(app, db, space, clock):
    add_channel(space, clock, "http://127.0.0.1:9/never", events=["stale"])
    make_run(space.ws, space.contoso, now=clock.now(), type="report_export", age=1199)
    clock.advance(seconds=2)
    for _ in range(4):
        clock.advance(seconds=1)
        run_tick(send_due=False)
    count = db.session.scalar(sa.select(sa.func.count()).select_from(NotificationEvent))
    assert count == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(NotificationDelivery)) == 1


def test_a_mute_covers_transitions_from_its_start_until_just_before_its_end(
    app, db, space, clock, httpserver
):
    """Routing (done by the database) skips an event whose transition lies in a mute, or
    that is routed while a mute is on; exactly at the end it is news again."""
    channel = add_channel(space, clock, "http://127.0.0.1:9/never", events=["failed"])
    start, until = clock.now() + timedelta(seconds=10), clock.now() + timedelta(seconds=70)
    channels.mute_tenant(
        workspace_id=space.ws.id, tenant_id=space.contoso.id, until=until, reason=None, now=start
    )
    db.session.commit()
    at = {
        "before_start": start - timedelta(seconds=1),
        "at_start": start,
        "before_end": until - timedelta(seconds=1),
        "at_end": until,
    }
    failed = {}
    for name, when in at.items():
        for tenant in (space.contoso, space.fabrikam):
            run = make_run(space.ws, tenant, now=when, type="inventory_sync")
            complete_run(run, outcome="failed", now=when, actor="worker")
            failed[(name, tenant.slug)] = run.id
    clock.advance(seconds=80)  # routed after the mute ended: only transitions count
    outbox.route(clock.now())
    routed = set(
        db.session.scalars(
            sa.select(NotificationEvent.run_id)
            .join(NotificationItem, NotificationItem.event_id == NotificationEvent.id)
            .where(NotificationItem.channel_id == channel.id)
        )
    )
    expected = {run for (name, slug), run in failed.items()}
    expected -= {failed[("at_start", "contoso")], failed[("before_end", "contoso")]}
    assert routed == expected


def test_an_event_routed_while_a_mute_is_on_is_skipped(app, db, space, clock):
    channel = add_channel(space, clock, "http://127.0.0.1:9/never", events=["failed"])
    run = make_run(space.ws, space.contoso, now=clock.now(), type="inventory_sync")
    complete_run(run, outcome="failed", now=clock.now(), actor="worker")
    clock.advance(seconds=5)  # muted after the failure, before anyone routed it
    channels.mute_tenant(
        workspace_id=space.ws.id,
        tenant_id=space.contoso.id,
        until=clock.now() + timedelta(minutes=5),
        reason=None,
        now=clock.now(),
    )
    db.session.commit()
    assert outbox.route(clock.now()) == 1
    items = db.session.scalars(
        sa.select(NotificationItem).where(NotificationItem.channel_id == channel.id)
    ).all()
    assert items == []


def test_a_large_group_counts_every_event_and_lists_the_oldest(app, db, space, clock, httpserver):
    httpserver.expect_request("/hook").respond_with_data("ok")
    add_channel(space, clock, httpserver.url_for("/hook"), events=["failed"])
    runs = []
    for n in range(LISTED_IN_JSON + 7):
        tenant = (space.contoso, space.fabrikam, None)[n % 3]
        run = make_run(space.ws, tenant, now=clock.now(), type="inventory_sync")
        complete_run(run, outcome="failed", now=clock.now(), actor="worker")
        runs.append(run.id)
        clock.advance(seconds=1)
    for _ in range(4):
        tick(clock)
    (body,) = received(httpserver)
    assert (body["total"], body["omitted"]) == (LISTED_IN_JSON + 7, 7)
    assert body["title"] == f"{LISTED_IN_JSON + 7} runs failed in 3 tenants"
    assert event_runs([body]) == runs[:LISTED_IN_JSON]  # oldest first
    assert body["counts"] == {"failed": LISTED_IN_JSON + 7}
