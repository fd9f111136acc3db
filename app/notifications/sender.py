"""The sender: one tick finds transitions, routes and groups them, and sends what is due.

Deliveries are claimed with one UPDATE (its candidates ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL) that marks them ``sending`` until a claim expiry, so senders running at once
never send the same delivery; the messages go out in parallel threads (network only), and
each attempt is recorded with its status, error and duration. A failed attempt is retried
with exponential backoff for about an hour (``NOTIFICATIONS_RETRY_FOR_SECONDS``); an
answer that retrying cannot fix, or the end of that hour, fails the delivery for good.
A delivery that outlives its claim (its sender died) is sent again with the same delivery
id, which receivers use to drop the duplicate.
"""

import json
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, timedelta

import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.models import NotificationAttempt, NotificationChannel, NotificationDelivery, Workspace
from app.notifications import detect, outbox
from app.notifications.formatting import payload_for_test
from app.notifications.transports import Message, send
from app.operations import get_policy
from app.operations.clock import now as clock_now

logger = logging.getLogger("runwarden.notifications")
DELIVERIES = NotificationDelivery.__table__
CLAIM_BATCH = 16
CLAIM_MARGIN = timedelta(seconds=30)
# Literal, as in the partial index's predicate.
DUE_STATUSES = [sa.literal_column("'pending'"), sa.literal_column("'sending'")]


@dataclass
class TickSummary:
    """What one sender tick did."""

    stale: int = 0
    recovered: int = 0
    routed: int = 0
    grouped: int = 0
    sent: int = 0
    failed: int = 0
    retrying: int = 0
    errors: list = field(default_factory=list)
    # Milliseconds per step (sending counted apart from the grouping it follows).
    ms: dict = field(default_factory=dict)

    def timed(self, name, started):
        """Add the time since ``started`` (perf_counter) to step ``name``."""
        spent = (time.perf_counter() - started) * 1000
        self.ms[name] = round(self.ms.get(name, 0) + spent, 1)


def _settings():
    config = current_app.config
    return (
        config["NOTIFICATIONS_TIMEOUT_SECONDS"],
        config["NOTIFICATIONS_RETRY_BASE_SECONDS"],
        config["NOTIFICATIONS_RETRY_FOR_SECONDS"],
    )


def run_tick(now=None, send_due=True):
    """One tick of the pipeline in the current app context; a TickSummary.

    Without ``now`` each step reads the clock when it starts: a long detection does not
    hold back the grouping and sending that follow it.
    """
    policy = get_policy()
    at = (lambda: now) if now is not None else clock_now
    window = current_app.config["NOTIFICATIONS_GROUP_SECONDS"]
    summary = TickSummary()

    def send_some():
        if send_due:
            _send(summary, at())

    steps = (
        ("stale", lambda: detect.detect_stale(policy, at())),
        ("recovered", lambda: detect.detect_recovered(policy, at())),
        ("routed", lambda: outbox.route(at())),
        ("grouped", lambda: outbox.group(at(), window, policy, after_each=send_some)),
    )
    for name, step in steps:
        _step(summary, name, step)
    while send_due and _send(summary, at()) >= CLAIM_BATCH:
        pass  # a full claim: more may be due
    return summary


def _step(summary, name, step):
    """Run step ``name`` and count what it did and its time, less the sending it caused;
    a failing step is logged and noted, and does not stop the others."""
    started, sending = time.perf_counter(), summary.ms.get("send", 0)
    try:
        setattr(summary, name, step())
    except Exception as exc:
        db.session.rollback()
        logger.exception("notification step %s failed", name)
        summary.errors.append(f"{name}: {type(exc).__name__}")
    summary.timed(name, started)
    summary.ms[name] = round(summary.ms[name] - (summary.ms.get("send", 0) - sending), 1)


def _send(summary, now):
    """Send one claim of due deliveries, counted on ``summary``; how many it settled or
    put back for a retry."""
    started = time.perf_counter()
    counts = send_due_deliveries(now)
    for name, n in zip(("sent", "failed", "retrying"), counts, strict=True):
        setattr(summary, name, getattr(summary, name) + n)
    summary.timed("send", started)
    return sum(counts)


def _claim(now, timeout, limit):
    """Mark up to ``limit`` due deliveries of enabled channels as ours; their ids."""
    channels = NotificationChannel.__table__
    candidates = (
        sa.select(DELIVERIES.c.id)
        .join(channels, channels.c.id == DELIVERIES.c.channel_id)
        .where(
            DELIVERIES.c.status.in_(DUE_STATUSES),
            DELIVERIES.c.next_attempt_at <= now,
            sa.or_(DELIVERIES.c.claimed_until.is_(None), DELIVERIES.c.claimed_until < now),
            channels.c.enabled == sa.true(),
        )
        .order_by(DELIVERIES.c.next_attempt_at, DELIVERIES.c.id)
        .limit(limit)
    )
    if outbox.is_postgres():
        candidates = candidates.with_for_update(of=DELIVERIES, skip_locked=True)
    until = now + timedelta(seconds=timeout) + CLAIM_MARGIN
    ids = db.session.scalars(
        sa.update(DELIVERIES)
        .where(
            DELIVERIES.c.id.in_(candidates.scalar_subquery()),
            sa.or_(DELIVERIES.c.claimed_until.is_(None), DELIVERIES.c.claimed_until < now),
        )
        .values(status="sending", claimed_until=until)
        .returning(DELIVERIES.c.id)
    ).all()
    db.session.commit()
    return ids


def send_due_deliveries(now, limit=CLAIM_BATCH):
    """Claim and send due deliveries; (sent, failed for good, to retry)."""
    timeout, base, retry_for = _settings()
    ids = _claim(now, timeout, limit)
    if not ids:
        return 0, 0, 0
    rows = db.session.execute(
        sa.select(NotificationDelivery, NotificationChannel)
        .join(NotificationChannel, NotificationChannel.id == NotificationDelivery.channel_id)
        .where(NotificationDelivery.id.in_(ids))
    ).all()
    stamp = _epoch(now)
    jobs = [
        (
            delivery.id,
            channel.kind,
            channel.target,
            channel.signing_secret,
            Message(delivery.uuid, delivery.title, delivery.payload, stamp),
        )
        for delivery, channel in rows
    ]
    smtp_url = current_app.config.get("SMTP_URL")
    with ThreadPoolExecutor(max_workers=min(8, len(jobs))) as pool:
        results = list(
            pool.map(
                lambda j: send(j[1], j[2], j[3], j[4], timeout=timeout, smtp_url=smtp_url), jobs
            )
        )
    counts = [0, 0, 0]
    for (delivery, channel), (outcome, seconds) in zip(rows, results, strict=True):
        counts[record(delivery, channel, outcome, seconds, now, base, retry_for)] += 1
    db.session.commit()
    return tuple(counts)


def _epoch(naive_utc):
    return int(naive_utc.replace(tzinfo=UTC).timestamp())


def record(delivery, channel, outcome, seconds, now, base, retry_for):
    """Record one attempt and its consequence; 0 sent, 1 failed for good, 2 to retry."""
    delivery.attempts += 1
    db.session.add(
        NotificationAttempt(
            delivery_id=delivery.id,
            at=now,
            duration_ms=round(seconds * 1000),
            ok=outcome.ok,
            status_code=outcome.status_code,
            error=outcome.error,
        )
    )
    delivery.claimed_until = None
    line = {"event": "notification_attempt", "delivery": delivery.uuid, "channel": channel.id}
    line.update(kind=channel.kind, ok=outcome.ok, status=outcome.status_code)
    line.update(error=outcome.error, ms=round(seconds * 1000), attempt=delivery.attempts)
    logger.info(json.dumps(line))
    if outcome.ok:
        delivery.status, delivery.sent_at, delivery.last_error = "sent", now, None
        channel.last_success_at, channel.consecutive_failures = now, 0
        channel.last_error = None
        return 0
    channel.last_failure_at, channel.last_error = now, outcome.error
    channel.consecutive_failures += 1
    delivery.last_error = outcome.error
    delay = timedelta(seconds=base * 2 ** (delivery.attempts - 1))
    if outcome.permanent or now + delay > delivery.created_at + timedelta(seconds=retry_for):
        delivery.status = "failed"
        return 1
    delivery.status, delivery.next_attempt_at = "pending", now + delay
    return 2


def send_test(channel, now):
    """Send a test message to ``channel`` now, recorded like any delivery; the delivery."""
    timeout, base, retry_for = _settings()
    workspace = db.session.get(Workspace, channel.workspace_id)
    payload = payload_for_test(channel.name, workspace.name, now)
    delivery = NotificationDelivery(
        uuid=str(uuid.uuid4()),
        channel_id=channel.id,
        status="sending",
        created_at=now,
        next_attempt_at=now,
        attempts=0,
        event_count=0,
        title=payload["title"],
        payload=payload,
    )
    db.session.add(delivery)
    db.session.commit()
    message = Message(delivery.uuid, delivery.title, payload, _epoch(now))
    smtp_url = current_app.config.get("SMTP_URL")
    outcome, seconds = send(
        channel.kind,
        channel.target,
        channel.signing_secret,
        message,
        timeout=timeout,
        smtp_url=smtp_url,
    )
    # A test is tried once: its answer is what the owner asked for.
    record(delivery, channel, outcome, seconds, now, base, 0)
    if not outcome.ok:
        delivery.status = "failed"
    db.session.commit()
    return delivery
