"""Receivers that are down, slow, failing or gone; email through a real SMTP server."""

import socket
import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from werkzeug.wrappers import Response

from app.models import NotificationAttempt, NotificationChannel, NotificationDelivery
from app.notifications.sender import run_tick
from app.operations.lifecycle import complete_run
from tests.factories import make_run
from tests.notifications.conftest import add_channel, event_runs, received


def fail_one(space, clock, tenant=None):
    run = make_run(space.ws, tenant or space.contoso, now=clock.now(), type="inventory_sync")
    complete_run(run, outcome="failed", now=clock.now(), actor="worker", message="boom")
    return run


def ticks(clock, n, seconds=1):
    for _ in range(n):
        clock.advance(seconds=seconds)
        run_tick()


def deliveries(db):
    db.session.expire_all()
    return db.session.scalars(
        sa.select(NotificationDelivery).order_by(NotificationDelivery.id)
    ).all()


def attempts(db):
    return db.session.scalars(sa.select(NotificationAttempt).order_by(NotificationAttempt.id)).all()


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_receiver_that_is_down_is_retried_with_backoff(app, db, space, clock, httpserver):
    channel = add_channel(space, clock, f"http://127.0.0.1:{closed_port()}/hook")
    fail_one(space, clock)
    ticks(clock, 4)
    (delivery,) = deliveries(db)
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert "cannot connect" in delivery.last_error
    assert delivery.next_attempt_at == attempts(db)[0].at + timedelta(seconds=30)
    # the receiver comes back: the same delivery (same id) goes out at its next attempt
    channel.target = httpserver.url_for("/back")
    db.session.commit()
    httpserver.expect_request("/back").respond_with_data("ok")
    ticks(clock, 30)
    (delivery,) = deliveries(db)
    assert (delivery.status, delivery.attempts) == ("sent", 2)
    assert received(httpserver, channel)[0]["delivery_id"] == delivery.uuid
    assert db.session.get(NotificationChannel, channel.id).consecutive_failures == 0


def test_a_slow_receiver_times_out(app, db, space, clock, httpserver):
    app.config["NOTIFICATIONS_TIMEOUT_SECONDS"] = 0.3
    release = threading.Event()

    def slow(request):
        release.wait(2)
        return Response("late")

    httpserver.expect_request("/slow").respond_with_handler(slow)
    add_channel(space, clock, httpserver.url_for("/slow"))
    fail_one(space, clock)
    started = time.perf_counter()
    ticks(clock, 4)
    release.set()
    assert time.perf_counter() - started < 2
    (attempt,) = attempts(db)
    assert not attempt.ok and attempt.error == "no answer within 0.3 s"
    assert 250 <= attempt.duration_ms < 2000
    assert deliveries(db)[0].status == "pending"


def test_a_receiver_answering_500_gets_the_same_delivery_again(app, db, space, clock, httpserver):
    answers = iter([Response("no", status=500), Response("ok")])
    httpserver.expect_request("/flaky").respond_with_handler(lambda request: next(answers))
    channel = add_channel(space, clock, httpserver.url_for("/flaky"))
    run = fail_one(space, clock)
    ticks(clock, 4)
    assert [(a.ok, a.status_code, a.error) for a in attempts(db)] == [
        (False, 500, "HTTP 500 INTERNAL SERVER ERROR")
    ]
    ticks(clock, 30)
    bodies = received(httpserver, channel)
    assert len(bodies) == 2 and bodies[0]["delivery_id"] == bodies[1]["delivery_id"]
    assert event_runs(bodies[1:]) == [run.id]
    assert deliveries(db)[0].status == "sent"


def test_retries_last_about_an_hour_then_fail_for_good(app, db, space, clock, httpserver):
    httpserver.expect_request("/down").respond_with_data("no", status=503)
    channel = add_channel(space, clock, httpserver.url_for("/down"))
    fail_one(space, clock)
    ticks(clock, 4)
    ticks(clock, 2 * 60 * 2, seconds=30)  # two hours
    (delivery,) = deliveries(db)
    tries = attempts(db)
    assert delivery.status == "failed" and delivery.attempts == len(tries) == 7
    assert tries[-1].at - delivery.created_at <= timedelta(hours=1)
    assert tries[-1].at - delivery.created_at >= timedelta(minutes=30)
    assert db.session.get(NotificationChannel, channel.id).consecutive_failures == 7


def test_a_gone_receiver_fails_at_once(app, db, space, clock, httpserver):
    httpserver.expect_request("/gone").respond_with_data("gone", status=410)
    channel = add_channel(space, clock, httpserver.url_for("/gone"))
    fail_one(space, clock)
    ticks(clock, 4)
    ticks(clock, 10, seconds=60)
    (delivery,) = deliveries(db)
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert delivery.last_error == "HTTP 410 GONE"
    assert len(httpserver.log) == 1
    failing = db.session.get(NotificationChannel, channel.id)
    assert failing.consecutive_failures == 1 and failing.last_error == "HTTP 410 GONE"


def test_slack_compatible_webhooks_get_text(app, db, space, clock, httpserver):
    httpserver.expect_request("/services/T0/B0/XYZ").respond_with_data("ok")
    add_channel(space, clock, httpserver.url_for("/services/T0/B0/XYZ"), kind="slack")
    run = fail_one(space, clock)
    ticks(clock, 4)
    (body,) = received(httpserver)
    assert set(body) == {"text"}
    assert body["text"].startswith("1 run failed in Contoso")
    assert f"Run #{run.id} Inventory sync in Contoso failed" in body["text"]


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=closed_port())
    controller.start()
    yield controller, inbox
    controller.stop()


def test_email_goes_through_smtp_url(app, db, space, clock, smtp_server):
    controller, inbox = smtp_server
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{controller.port}?from=alerts@runwarden.test"
    add_channel(space, clock, "ops@example.com, oncall@example.com", kind="email")
    run = fail_one(space, clock)
    ticks(clock, 4)
    (envelope,) = inbox.messages
    assert envelope.mail_from == "alerts@runwarden.test"
    assert envelope.rcpt_tos == ["ops@example.com", "oncall@example.com"]
    text = envelope.content.decode()
    assert "Subject: 1 run failed in Contoso" in text and f"Run #{run.id}" in text
    assert deliveries(db)[0].status == "sent"


def test_email_without_smtp_url_fails_for_good(app, db, space, clock):
    app.config["SMTP_URL"] = None
    add_channel(space, clock, "ops@example.com", kind="email")
    fail_one(space, clock)
    ticks(clock, 4)
    (delivery,) = deliveries(db)
    assert (delivery.status, delivery.last_error) == ("failed", "SMTP_URL is not set")


def test_attempts_are_logged_without_secrets(app, db, space, clock, httpserver, caplog):
    caplog.set_level("INFO", logger="runwarden.notifications")
    httpserver.expect_request("/services/T0/B0/TOPSECRET").respond_with_data("no", status=500)
    channel = add_channel(space, clock, httpserver.url_for("/services/T0/B0/TOPSECRET"))
    fail_one(space, clock)
    ticks(clock, 4)
    lines = [r.getMessage() for r in caplog.records if r.name == "runwarden.notifications"]
    assert len(lines) == 1 and '"status": 500' in lines[0] and '"ms": ' in lines[0]
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name != "werkzeug")
    assert "TOPSECRET" not in ours and channel.signing_secret not in ours
