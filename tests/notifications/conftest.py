"""Notification fixtures: a workspace with tenants, channels pointed at real receivers."""

import hmac
import json
from types import SimpleNamespace

import pytest

from app.extensions import db as _db
from app.notifications import channels
from app.notifications.transports import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
)
from tests.factories import make_member, make_tenant, make_user, make_workspace


@pytest.fixture
def space(db):
    """Workspace acme (tenants contoso, fabrikam) with an owner, and workspace globex."""
    ws = make_workspace(slug="acme", name="Acme")
    contoso = make_tenant(ws, slug="contoso", name="Contoso")
    fabrikam = make_tenant(ws, slug="fabrikam", name="Fabrikam")
    other = make_workspace(slug="globex", name="Globex")
    owner = make_user()
    make_member(owner, ws, "owner")
    return SimpleNamespace(ws=ws, contoso=contoso, fabrikam=fabrikam, other=other, owner=owner)


def add_channel(space, clock, url, kind="webhook", events=None, tenant_ids=None, name=None):
    """A committed channel of ``space.ws``."""
    channel = channels.create_channel(
        workspace_id=space.ws.id,
        name=name or f"{kind} {url[-12:]}",
        kind=kind,
        target=url,
        events=events or ["stale", "reconciled", "failed", "recovered"],
        tenant_ids=tenant_ids,
        now=clock.now(),
    )
    _db.session.commit()
    return channel


def received(httpserver, channel=None):
    """The JSON bodies the server got; with ``channel``, each signature is checked."""
    bodies = []
    for request, _ in httpserver.log:
        body = request.get_data()
        if channel is not None:
            stamp = int(request.headers[TIMESTAMP_HEADER])
            expected = sign(channel.signing_secret, stamp, body)
            assert hmac.compare_digest(expected, request.headers[SIGNATURE_HEADER])
            assert request.headers[DELIVERY_HEADER]
        bodies.append(json.loads(body))
    return bodies


def event_runs(bodies, kind=None):
    """Every run id named by events of ``kind`` in ``bodies``, with repeats."""
    return [e["run_id"] for b in bodies for e in b["events"] if kind in (None, e["kind"])]
