"""`flask channels ...`: notification channels, tenant mutes and the sender, by hand."""

import time
from datetime import datetime

import click
import sqlalchemy as sa

from app.cli import JsonGroup, emit, fail
from app.extensions import db
from app.models import NotificationChannel, Tenant
from app.models.notifications import CHANNEL_KINDS, EVENT_KINDS
from app.notifications import channels as service
from app.notifications.sender import run_tick, send_test
from app.notifications.status import delivery_log
from app.operations import accounts
from app.operations.clock import isoformat, now, to_utc_naive

channels = JsonGroup("channels", help="Notification channels, mutes and the sender.")


def _workspace(slug):
    workspace = accounts.workspace_by_slug(slug)
    if workspace is None:
        fail(f"no workspace {slug!r}")
    return workspace


def _tenant_ids(workspace, slugs):
    if not slugs:
        return None
    ids = []
    for slug in slugs:
        tenant_id = db.session.scalar(
            sa.select(Tenant.id).where(Tenant.workspace_id == workspace.id, Tenant.slug == slug)
        )
        if tenant_id is None:
            fail(f"no tenant {slug!r} in workspace {workspace.slug!r}")
        ids.append(tenant_id)
    return ids


def _channel(channel_id):
    channel = db.session.get(NotificationChannel, channel_id)
    if channel is None:
        fail(f"no channel {channel_id}")
    return channel


def describe(channel):
    """A channel as JSON, its secrets masked."""
    return {
        "id": channel.id,
        "workspace_id": channel.workspace_id,
        "name": channel.name,
        "kind": channel.kind,
        "target": service.masked_target(channel),
        "signing_secret": service.mask_secret(channel.signing_secret),
        "events": channel.events,
        "tenant_ids": channel.tenant_ids,
        "enabled": channel.enabled,
        "consecutive_failures": channel.consecutive_failures,
        "last_error": channel.last_error,
        "last_success_at": isoformat(channel.last_success_at),
    }


def _saved(build):
    try:
        result = build()
    except service.ChannelError as exc:
        db.session.rollback()
        fail(exc.message, field=exc.field)
    db.session.commit()
    return result


@channels.command("list")
@click.argument("workspace_slug")
def list_channels(workspace_slug):
    """The channels of WORKSPACE_SLUG."""
    workspace = _workspace(workspace_slug)
    emit({"channels": [describe(c) for c in service.channels_of(workspace.id)]})


@channels.command("create")
@click.argument("workspace_slug")
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice(CHANNEL_KINDS))
@click.option("--target", required=True, help="Webhook URL, or comma-separated emails.")
@click.option("--event", "events", multiple=True, type=click.Choice(EVENT_KINDS))
@click.option("--tenant", "tenant_slugs", multiple=True, help="Only this tenant (repeatable).")
def create(workspace_slug, name, kind, target, events, tenant_slugs):
    """Add a channel (every event unless --event is given); prints the signing secret once."""
    workspace = _workspace(workspace_slug)
    channel = _saved(
        lambda: service.create_channel(
            workspace_id=workspace.id,
            name=name,
            kind=kind,
            target=target,
            events=list(events or EVENT_KINDS),
            tenant_ids=_tenant_ids(workspace, tenant_slugs),
            now=now(),
        )
    )
    emit({**describe(channel), "signing_secret": channel.signing_secret})


@channels.command("disable")
@click.argument("channel_id", type=int)
def disable(channel_id):
    """Stop sending to CHANNEL_ID."""
    channel = _saved(lambda: service.set_enabled(_channel(channel_id), False, now()))
    emit(describe(channel))


@channels.command("enable")
@click.argument("channel_id", type=int)
def enable(channel_id):
    """Send to CHANNEL_ID again."""
    channel = _saved(lambda: service.set_enabled(_channel(channel_id), True, now()))
    emit(describe(channel))


@channels.command("test")
@click.argument("channel_id", type=int)
def test(channel_id):
    """Send a test message to CHANNEL_ID now and print the attempt."""
    delivery = send_test(_channel(channel_id), now())
    emit({"delivery_id": delivery.uuid, "status": delivery.status, "error": delivery.last_error})


@channels.command("log")
@click.argument("channel_id", type=int)
@click.option("--limit", default=20, type=click.IntRange(1, 200))
def log(channel_id, limit):
    """The latest deliveries of CHANNEL_ID with their attempts."""
    _channel(channel_id)
    rows = [
        {
            "delivery_id": d.uuid,
            "title": d.title,
            "status": d.status,
            "events": d.event_count,
            "created_at": isoformat(d.created_at),
            "attempts": [
                {"at": isoformat(a.at), "ok": a.ok, "status": a.status_code, "error": a.error}
                | {"ms": a.duration_ms}
                for a in attempts
            ],
        }
        for d, attempts in delivery_log(channel_id, limit)
    ]
    emit({"channel_id": channel_id, "deliveries": rows})


@channels.command("mute")
@click.argument("workspace_slug")
@click.argument("tenant_slug")
@click.option("--until", "until", required=True, help="ISO 8601 time (UTC unless it says).")
@click.option("--reason", default=None)
def mute(workspace_slug, tenant_slug, until, reason):
    """Mute TENANT_SLUG's notifications until --until (maintenance)."""
    workspace = _workspace(workspace_slug)
    (tenant_id,) = _tenant_ids(workspace, [tenant_slug])
    try:
        end = to_utc_naive(datetime.fromisoformat(until.replace("Z", "+00:00")))
    except ValueError:
        fail(f"--until is not an ISO 8601 time: {until[:40]!r}")
    row = _saved(
        lambda: service.mute_tenant(
            workspace_id=workspace.id, tenant_id=tenant_id, until=end, reason=reason, now=now()
        )
    )
    emit({"mute_id": row.id, "tenant": tenant_slug, "until": isoformat(row.until)})


@channels.command("unmute")
@click.argument("workspace_slug")
@click.argument("tenant_slug")
def unmute(workspace_slug, tenant_slug):
    """End TENANT_SLUG's current mutes."""
    workspace = _workspace(workspace_slug)
    (tenant_id,) = _tenant_ids(workspace, [tenant_slug])
    ended = _saved(lambda: service.end_mutes(workspace.id, tenant_id, now()))
    emit({"tenant": tenant_slug, "mutes_ended": ended})


COUNTED = ("stale", "recovered", "routed", "grouped", "sent", "failed", "retrying")


@channels.command("send")
@click.option(
    "--for",
    "seconds",
    default=0.0,
    type=click.FloatRange(0, 3600),
    help="Keep ticking this many seconds (default: one tick).",
)
@click.option("--every", default=1.0, type=click.FloatRange(0.05, 60), help="Seconds a tick.")
def send(seconds, every):
    """Run sender ticks now (find, route, group, send) and print what they did, summed.

    Any number of these may run at once with the scheduler's sender: each delivery is
    claimed by one of them.
    """
    ends = time.monotonic() + seconds
    total, ticks = {**dict.fromkeys(COUNTED, 0), "errors": []}, 0
    while True:
        summary = run_tick()
        ticks += 1
        for name in COUNTED:
            total[name] += getattr(summary, name)
        total["errors"] += summary.errors
        left = ends - time.monotonic()
        if left <= 0:
            break
        time.sleep(min(every, left))
    emit({**total, "ticks": ticks})


def register(app):
    """Add ``flask channels``."""
    app.cli.add_command(channels)
