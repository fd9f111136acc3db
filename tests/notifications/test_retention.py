"""Retention: finished notification work older than the kept days goes, nothing else does."""

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db as _db
from app.models import (
    NotificationAttempt,
    NotificationDelivery,
    NotificationEvent,
    NotificationItem,
)
from app.notifications import retention
from config import Config, ConfigError
from reconciler.loop import ReconcilerService
from tests.factories import make_run
from tests.notifications.conftest import add_channel

DAYS = 30
KEPT = timedelta(days=DAYS)


@pytest.fixture
def channel(space, clock):
    return add_channel(space, clock, "https://hooks.example.com/retention-test-hook")


@pytest.fixture
def run(space, clock):
    return make_run(space.ws, space.contoso, now=clock.now(), type="inventory_sync")


def _event(space, run, at, *, kind="failed", routed=True, open_=False):
    event = NotificationEvent(
        workspace_id=space.ws.id,
        tenant_id=space.contoso.id,
        run_id=run.id,
        kind=kind,
        transition_at=at,
        created_at=at,
        routed=routed,
        open=open_,
    )
    _db.session.add(event)
    _db.session.flush()
    return event


def _delivery(channel, at, status="sent", attempts=2):
    delivery = NotificationDelivery(
        uuid=str(uuid.uuid4()),
        channel_id=channel.id,
        status=status,
        created_at=at,
        next_attempt_at=at,
        attempts=attempts,
        event_count=1,
        title="1 run failed in Contoso",
        payload={"total": 1},
    )
    _db.session.add(delivery)
    _db.session.flush()
    for n in range(attempts):
        _db.session.add(
            NotificationAttempt(
                delivery_id=delivery.id, at=at + timedelta(seconds=n), duration_ms=5, ok=True
            )
        )
    return delivery


def _delivered(space, channel, run, at, status="sent", kind="failed"):
    """An event of ``at`` delivered to ``channel`` in one delivery: (event, delivery)."""
    event = _event(space, run, at, kind=kind)
    delivery = _delivery(channel, at, status)
    _db.session.add(
        NotificationItem(
            channel_id=channel.id, event_id=event.id, created_at=at, delivery_id=delivery.id
        )
    )
    _db.session.commit()
    return event.id, delivery.id


def _ids(model):
    return set(_db.session.scalars(sa.select(model.id)))


def test_a_delivery_goes_one_second_after_exactly_the_kept_days(
    app, db, space, clock, channel, run
):
    now = clock.now()
    older = _delivered(space, channel, run, now - KEPT - timedelta(seconds=1))
    exact = _delivered(space, channel, run, now - KEPT)
    younger = _delivered(space, channel, run, now - KEPT + timedelta(seconds=1))
    failed = _delivered(
        space, channel, run, now - KEPT - timedelta(seconds=1), "failed", kind="reconciled"
    )

    pruned = retention.prune(now, DAYS)

    assert _ids(NotificationDelivery) == {exact[1], younger[1]}
    assert _ids(NotificationEvent) == {exact[0], younger[0]}
    assert (pruned.deliveries, pruned.events, pruned.items, pruned.attempts) == (2, 2, 2, 4)
    kept = set(db.session.scalars(sa.select(NotificationAttempt.delivery_id)))
    assert kept == {exact[1], younger[1]}
    assert older[1] not in _ids(NotificationDelivery) and failed[1] not in kept
    assert not retention.prune(now, DAYS)  # nothing more to do


def test_undelivered_work_is_never_removed_however_old(app, db, space, clock, channel, run):
    now = clock.now()
    ancient = now - KEPT * 10
    waiting = [_delivery(channel, ancient, status) for status in ("pending", "sending")]
    grouped = _event(space, run, ancient)  # its item is in a delivery still being retried
    _db.session.add(
        NotificationItem(
            channel_id=channel.id,
            event_id=grouped.id,
            created_at=ancient,
            delivery_id=waiting[0].id,
        )
    )
    ungrouped = _event(space, run, ancient + timedelta(seconds=1))  # item with no delivery
    _db.session.add(
        NotificationItem(channel_id=channel.id, event_id=ungrouped.id, created_at=ancient)
    )
    unrouted = _event(space, run, ancient + timedelta(seconds=2), routed=False)
    still_stale = _event(space, run, ancient + timedelta(seconds=3), kind="stale", open_=True)
    nobody = _event(space, run, ancient + timedelta(seconds=4))  # routed to no channel
    _db.session.commit()
    kept = {grouped.id, ungrouped.id, unrouted.id, still_stale.id}
    waiting_ids, nobody_id = {d.id for d in waiting}, nobody.id

    pruned = retention.prune(now, DAYS)

    assert _ids(NotificationDelivery) == waiting_ids
    assert _ids(NotificationEvent) == kept and nobody_id not in kept
    assert len(_ids(NotificationItem)) == 2
    assert (pruned.deliveries, pruned.events) == (0, 1)


def test_an_old_event_stays_while_a_recent_delivery_holds_it(app, db, space, clock, run, channel):
    now = clock.now()
    other = add_channel(space, clock, "https://hooks.example.com/retention-other-hook")
    event = _event(space, run, now - KEPT * 2)
    old = _delivery(channel, now - KEPT * 2)
    recent = _delivery(other, now - timedelta(days=1))
    for ch, delivery in ((channel, old), (other, recent)):
        _db.session.add(
            NotificationItem(
                channel_id=ch.id,
                event_id=event.id,
                created_at=delivery.created_at,
                delivery_id=delivery.id,
            )
        )
    _db.session.commit()

    retention.prune(now, DAYS)

    assert _ids(NotificationDelivery) == {recent.id}
    assert _ids(NotificationEvent) == {event.id}
    retention.prune(now + timedelta(days=DAYS), DAYS)
    assert _ids(NotificationEvent) == set() and _ids(NotificationItem) == set()


def test_a_backlog_goes_in_bounded_batches_over_several_calls(app, db, space, clock, channel, run):
    now = clock.now()
    for n in range(7):
        _delivered(space, channel, run, now - KEPT - timedelta(hours=n + 1))

    first = retention.prune(now, DAYS, batch=2, max_batches=2)
    assert (first.deliveries, first.events) == (4, 4)
    second = retention.prune(now, DAYS, batch=2, max_batches=2)
    assert (second.deliveries, second.events) == (3, 3)
    assert _ids(NotificationDelivery) == set() and _ids(NotificationAttempt) == set()


def test_the_reconciler_upkeep_prunes_with_the_configured_days(app, db, space, clock, channel, run):
    app.config["NOTIFICATIONS_KEEP_DAYS"] = 2
    now = clock.now()
    gone = _delivered(space, channel, run, now - timedelta(days=2, seconds=1))
    kept = _delivered(space, channel, run, now - timedelta(days=2))
    ReconcilerService(app, role="test")._upkeep()
    assert _ids(NotificationDelivery) == {kept[1]}
    assert gone[0] not in _ids(NotificationEvent)


def test_prune_refuses_a_period_that_is_not_positive(app, db, clock):
    for days in (0, -1):
        with pytest.raises(ValueError):
            retention.prune(clock.now(), days)


@pytest.mark.parametrize("value", ["0", "-3", "1.5", "thirty", "²", " "])
def test_settings_refuse_what_is_not_a_whole_number_of_days(monkeypatch, value):
    monkeypatch.setenv("NOTIFICATIONS_KEEP_DAYS", value)
    if value.strip():
        with pytest.raises(ConfigError, match="NOTIFICATIONS_KEEP_DAYS"):
            Config()
    else:
        assert Config().NOTIFICATIONS_KEEP_DAYS == 30


def test_settings_take_the_days_and_batch_from_the_environment(monkeypatch):
    monkeypatch.setenv("NOTIFICATIONS_KEEP_DAYS", "7")
    monkeypatch.setenv("NOTIFICATIONS_PRUNE_BATCH", "250")
    config = Config()
    assert (config.NOTIFICATIONS_KEEP_DAYS, config.NOTIFICATIONS_PRUNE_BATCH) == (7, 250)
