"""Channels and tenant mutes: validation, changes (never committed here) and look-ups.

Only a workspace's owners manage its channels. A channel names tenants of its own
workspace only, so it never carries news of tenants outside the workspace.
"""

import re
import secrets
from urllib.parse import urlsplit

import sqlalchemy as sa

from app.extensions import db
from app.models import NotificationChannel, NotificationMute, Tenant
from app.models.notifications import CHANNEL_KINDS, EVENT_KINDS

KIND_LABELS = {"webhook": "Webhook", "slack": "Slack-compatible webhook", "email": "Email"}
EVENT_LABELS = {
    "stale": "A run became likely stale",
    "reconciled": "A run was closed by the reconciler",
    "failed": "A run failed",
    "recovered": "A stale run recovered",
}
MAX_NAME = 100
MAX_URL = 2000
MAX_RECIPIENTS = 20
MAX_MUTE_REASON = 200
_EMAIL = re.compile(
    r"^[^@\s,;<>\"']{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ChannelError(ValueError):
    """A channel or mute that cannot be saved; ``field`` names the offending input."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field
        self.message = message


def manages_channels(scope):
    """Whether the principal of ``scope`` may see and change the workspace's channels."""
    return scope is not None and scope.role == "owner"


def channel_for(scope, channel_id):
    """The channel ``channel_id`` of ``scope``'s workspace for an owner, else None."""
    if not manages_channels(scope):
        return None
    channel = db.session.get(NotificationChannel, channel_id)
    if channel is None or channel.workspace_id != scope.workspace_id:
        return None
    return channel


def channels_of(workspace_id):
    """The workspace's channels, by name."""
    return db.session.scalars(
        sa.select(NotificationChannel)
        .where(NotificationChannel.workspace_id == workspace_id)
        .order_by(NotificationChannel.name, NotificationChannel.id)
    ).all()


def mask_url(url):
    """``https://hooks.example.com/…f00d``: enough to recognise, never the secret path."""
    parts = urlsplit(url)
    tail = url[-4:] if len(url) > 24 else ""
    return f"{parts.scheme}://{parts.hostname or ''}/…{tail}"


def masked_target(channel):
    """What pages, logs and the CLI show of a channel's target."""
    if channel.kind == "email":
        return channel.target
    return mask_url(channel.target)


def mask_secret(secret):
    """A signing secret shown as its first four characters."""
    return f"{secret[:4]}…" if secret else None


def _clean_text(field, value, max_length, required=True):
    value = (value or "").strip()
    if required and not value:
        raise ChannelError(field, "This field is required.")
    if len(value) > max_length:
        raise ChannelError(field, f"At most {max_length} characters.")
    if _CONTROL.search(value):
        raise ChannelError(field, "Control characters are not allowed.")
    return value


def validate_url(value, field="target"):
    """An absolute http(s) URL with a host, or ChannelError."""
    value = _clean_text(field, value, MAX_URL)
    if any(c.isspace() for c in value):
        raise ChannelError(field, "A URL cannot contain spaces.")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        raise ChannelError(field, "Only http:// and https:// URLs are accepted.")
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise ChannelError(field, "The URL has an invalid host or port.") from exc
    if not host or port == 0:
        raise ChannelError(field, "The URL needs a host.")
    return value


def validate_recipients(value, field="target"):
    """Comma-separated email addresses, normalised to ``a@x, b@y``."""
    value = _clean_text(field, value, MAX_RECIPIENTS * 80)
    addresses = [a.strip() for a in re.split(r"[,\s;]+", value) if a.strip()]
    if not addresses:
        raise ChannelError(field, "Give at least one email address.")
    if len(addresses) > MAX_RECIPIENTS:
        raise ChannelError(field, f"At most {MAX_RECIPIENTS} addresses.")
    bad = [a for a in addresses if len(a) > 254 or not _EMAIL.match(a)]
    if bad:
        raise ChannelError(field, f"Not an email address: {bad[0][:80]}")
    return ", ".join(addresses)


def validate_target(kind, value):
    """The target for ``kind``: a URL for webhooks, recipients for email."""
    return validate_recipients(value) if kind == "email" else validate_url(value)


def validate_events(events):
    """A non-empty list of known event kinds, in their canonical order."""
    chosen = set(events or ())
    unknown = chosen - set(EVENT_KINDS)
    if unknown:
        raise ChannelError("events", f"Unknown event: {sorted(unknown)[0][:40]}")
    if not chosen:
        raise ChannelError("events", "Choose at least one event.")
    return [kind for kind in EVENT_KINDS if kind in chosen]


def validate_tenants(workspace_id, tenant_ids):
    """None (every tenant) or the sorted ids, each a tenant of ``workspace_id``."""
    if tenant_ids is None:
        return None
    ids = sorted({int(i) for i in tenant_ids})
    if not ids:
        raise ChannelError("tenants", "Choose at least one tenant, or all tenants.")
    found = set(
        db.session.scalars(
            sa.select(Tenant.id).where(Tenant.workspace_id == workspace_id, Tenant.id.in_(ids))
        )
    )
    if found != set(ids):
        raise ChannelError("tenants", "Choose tenants of this workspace only.")
    return ids


def _unique_name(workspace_id, name, channel_id=None):
    query = sa.select(NotificationChannel.id).where(
        NotificationChannel.workspace_id == workspace_id, NotificationChannel.name == name
    )
    if db.session.scalar(query) not in (None, channel_id):
        raise ChannelError("name", "Another channel of this workspace has this name.")


def create_channel(*, workspace_id, name, kind, target, events, tenant_ids, now):
    """A new enabled channel (flushed, not committed); webhooks get a signing secret."""
    if kind not in CHANNEL_KINDS:
        raise ChannelError("kind", "Choose webhook, slack or email.")
    name = _clean_text("name", name, MAX_NAME)
    _unique_name(workspace_id, name)
    channel = NotificationChannel(
        workspace_id=workspace_id,
        name=name,
        kind=kind,
        target=validate_target(kind, target),
        signing_secret=secrets.token_hex(32) if kind == "webhook" else None,
        events=validate_events(events),
        tenant_ids=validate_tenants(workspace_id, tenant_ids),
        enabled=True,
        created_at=now,
        updated_at=now,
        consecutive_failures=0,
    )
    db.session.add(channel)
    db.session.flush()
    return channel


def update_channel(channel, *, name, target, events, tenant_ids, now):
    """Change a channel; an empty ``target`` keeps the stored (secret) one."""
    name = _clean_text("name", name, MAX_NAME)
    _unique_name(channel.workspace_id, name, channel.id)
    new_target = validate_target(channel.kind, target) if (target or "").strip() else None
    events = validate_events(events)
    tenant_ids = validate_tenants(channel.workspace_id, tenant_ids)
    channel.name, channel.events, channel.tenant_ids = name, events, tenant_ids
    if new_target is not None:
        channel.target = new_target
    channel.updated_at = now
    db.session.flush()
    return channel


def set_enabled(channel, enabled, now):
    """Enable or disable ``channel``; a re-enabled channel starts with a clean record."""
    channel.enabled = bool(enabled)
    if enabled:
        channel.consecutive_failures = 0
    channel.updated_at = now
    return channel


def mute_tenant(*, workspace_id, tenant_id, until, reason, now):
    """Mute ``tenant_id`` (of ``workspace_id``) until ``until``: its events are not sent."""
    validate_tenants(workspace_id, [tenant_id])
    if until <= now:
        raise ChannelError("until", "The end of a mute must be in the future.")
    mute = NotificationMute(
        workspace_id=workspace_id,
        tenant_id=tenant_id,
        until=until,
        reason=_clean_text("reason", reason, MAX_MUTE_REASON, required=False) or None,
        created_at=now,
    )
    db.session.add(mute)
    db.session.flush()
    return mute


def end_mutes(workspace_id, tenant_id, now):
    """End every current mute of the tenant; how many ended."""
    result = db.session.execute(
        sa.update(NotificationMute)
        .where(
            NotificationMute.workspace_id == workspace_id,
            NotificationMute.tenant_id == tenant_id,
            NotificationMute.until > now,
        )
        .values(until=now)
    )
    return result.rowcount


def active_mutes(workspace_id, now):
    """(mute, tenant) pairs still in force in the workspace, soonest end first."""
    return db.session.execute(
        sa.select(NotificationMute, Tenant)
        .join(Tenant, Tenant.id == NotificationMute.tenant_id)
        .where(NotificationMute.workspace_id == workspace_id, NotificationMute.until > now)
        .order_by(NotificationMute.until)
    ).all()
