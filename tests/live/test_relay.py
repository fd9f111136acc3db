"""The relay thread: a committed change reaches the handler on SQLite and PostgreSQL."""

import queue
import threading
import time

import psycopg
import pytest
import sqlalchemy as sa

from app.extensions import db as _db
from app.live import relay as relay_module
from app.live.relay import Relay
from app.operations.lifecycle import complete_run, create_run
from tests.factories import make_tenant, make_workspace

WAIT = 10.0


class Inbox:
    """The relay's handler ``(changes, read_at)``: collects changes for the test to wait on
    and the instant of every read, empty ones too."""

    def __init__(self):
        self.changes = queue.Queue()
        self.reads = []

    def __call__(self, changes, read_at):
        self.reads.append((len(changes), read_at))
        for change in changes:
            self.changes.put(change)

    def next(self, timeout=WAIT):
        return self.changes.get(timeout=timeout)

    def empty(self):
        return self.changes.empty()


def _until(condition, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.01)


@pytest.fixture
def inbox():
    return Inbox()


@pytest.fixture
def make_relay(relay_app, inbox):
    started = []

    def build(**options):
        relay = Relay(relay_app, inbox, **options).start()
        started.append(relay)
        return relay

    yield build
    for relay in started:
        relay.stop()


def _new_run(clock):
    ws = make_workspace()
    tenant = make_tenant(ws)
    return create_run(
        workspace_id=ws.id, tenant_id=tenant.id, type="baseline_compare", now=clock.now(), actor="w"
    )


def test_a_committed_change_reaches_the_handler(relay_app, make_relay, inbox, clock):
    relay = make_relay(poll_interval=0.05, notify_timeout=0.5)

    run = _new_run(clock)
    first = inbox.next()
    complete_run(run, outcome="succeeded", now=clock.advance(5), actor="w")
    second = inbox.next()

    assert (first.run_id, second.run_id) == (run.id, run.id)
    assert second.id > first.id and first.tenant_id == run.tenant_id
    assert relay.healthy()


def test_every_read_is_handed_on_with_its_instant(relay_app, make_relay, inbox, clock):
    make_relay(poll_interval=0.02, notify_timeout=0.1)
    _until(lambda: len(inbox.reads) >= 2)
    assert all(count == 0 and at == clock.now() for count, at in inbox.reads[:2])

    later = clock.advance(7)
    run = _new_run(clock)
    assert inbox.next().run_id == run.id
    assert any(count == 1 and at == later for count, at in inbox.reads)


def test_changes_before_start_are_not_replayed(relay_app, inbox, make_relay, clock):
    _new_run(clock)
    make_relay(poll_interval=0.05, notify_timeout=0.5)
    later = _new_run(clock)
    assert inbox.next().run_id == later.id
    assert inbox.empty()


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_postgres_notify_wakes_the_relay(relay_app, make_relay, inbox, clock):
    relay = make_relay(notify_timeout=60)
    _until(lambda: relay.listener_pid is not None)
    began = time.monotonic()

    run = _new_run(clock)

    assert inbox.next(timeout=5).run_id == run.id
    assert time.monotonic() - began < 5
    assert relay.wakeups >= 1


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_postgres_resyncs_after_the_listen_connection_drops(
    relay_app, make_relay, inbox, clock, monkeypatch
):
    gate = threading.Event()
    real_connect = psycopg.connect
    attempts = []

    def gated_connect(*args, **kwargs):
        attempts.append(1)
        if len(attempts) > 1:
            gate.wait(WAIT)
        return real_connect(*args, **kwargs)

    monkeypatch.setattr(relay_module.psycopg, "connect", gated_connect)
    relay = make_relay(notify_timeout=60)
    _until(lambda: relay.listener_pid is not None)
    with _db.engine.begin() as conn:
        conn.execute(sa.select(sa.func.pg_terminate_backend(relay.listener_pid)))
    _until(lambda: relay.listener_pid is None and len(attempts) > 1)
    assert not relay.healthy()

    run = _new_run(clock)
    assert inbox.empty()
    gate.set()

    assert inbox.next().run_id == run.id
    assert relay.reconnects >= 1
    _until(relay.healthy)


def test_the_relay_prunes_old_change_rows(relay_app, make_relay, inbox, clock):
    from app.models import RunChange

    make_relay(poll_interval=0.05, notify_timeout=0.5, retention_seconds=60, prune_every=0)
    old = _new_run(clock)
    inbox.next()
    clock.advance(3600)
    fresh = _new_run(clock)
    inbox.next()

    def remaining():
        _db.session.rollback()
        return set(_db.session.scalars(sa.select(RunChange.run_id)))

    _until(lambda: remaining() == {fresh.id})
    assert old.id not in remaining()


def test_a_failing_handler_is_logged_and_the_relay_keeps_going(relay_app, clock, caplog):
    delivered = []

    def handler(changes, read_at):
        if changes and not delivered:
            delivered.append(None)
            raise RuntimeError("boom")
        delivered.extend(change.run_id for change in changes)

    relay = Relay(relay_app, handler, poll_interval=0.05, notify_timeout=0.5).start()
    try:
        _new_run(clock)
        _until(lambda: relay.errors == 1)
        second = _new_run(clock)
        _until(lambda: second.id in delivered)
    finally:
        relay.stop()
    assert relay.errors == 1
    assert "dispatching the change feed failed" in caplog.text
