"""Owners' notification pages: add, edit, disable, test, log, mutes; hostile input writes
nothing; secrets are never shown back; the overview warns about a failing channel."""

import pytest
import sqlalchemy as sa

from app.models import NotificationChannel, NotificationDelivery, NotificationMute
from app.notifications.sender import run_tick
from app.operations.lifecycle import complete_run
from tests.conftest import login
from tests.factories import make_member, make_run, make_user
from tests.notifications.conftest import add_channel, received
from tests.security.conftest import db_state

HOOK = "https://hooks.example.com/services/T000/B000/SECRETPATHabcd"


@pytest.fixture
def owner(app, client, space):
    return login(client, space.owner)


def _form(**overrides):
    form = {
        "name": "Ops webhook",
        "kind": "webhook",
        "target": HOOK,
        "events": ["stale", "failed"],
        "tenant_choice": "all",
    }
    form.update(overrides)
    return form


def channels(db):
    db.session.expire_all()
    return db.session.scalars(sa.select(NotificationChannel)).all()


def test_an_owner_adds_a_webhook_and_sees_its_secret_once(app, db, owner, space):
    response = owner.post("/admin/notifications/new", data=_form())
    assert response.status_code == 201
    (channel,) = channels(db)
    page = response.get_data(as_text=True)
    assert channel.signing_secret in page and HOOK not in page
    listing = owner.get("/admin/notifications").get_data(as_text=True)
    assert "Ops webhook" in listing and "hooks.example.com" in listing
    assert HOOK not in listing and "SECRETPATH" not in listing
    assert channel.signing_secret not in listing and channel.signing_secret[:4] in listing
    assert (channel.events, channel.tenant_ids) == (["stale", "failed"], None)


def test_an_owner_limits_a_channel_to_some_tenants(app, db, owner, space):
    data = _form(tenant_choice="some", tenants=[str(space.fabrikam.id)])
    assert owner.post("/admin/notifications/new", data=data).status_code == 201
    assert channels(db)[0].tenant_ids == [space.fabrikam.id]


def test_editing_keeps_the_secret_target_when_left_empty(app, db, owner, space, clock):
    channel = add_channel(space, clock, HOOK, name="hook")
    edit = owner.get(f"/admin/notifications/{channel.id}/edit").get_data(as_text=True)
    assert HOOK not in edit and "SECRETPATH" not in edit
    data = {"name": "renamed", "target": "", "events": ["failed"], "tenant_choice": "all"}
    response = owner.post(f"/admin/notifications/{channel.id}/edit", data=data)
    assert response.status_code == 303
    (saved,) = channels(db)
    assert (saved.name, saved.target, saved.events) == ("renamed", HOOK, ["failed"])


HOSTILE = [
    ({"target": "javascript:alert(1)"}, "Only http:// and https:// URLs are accepted."),
    ({"target": "ftp://example.com/x"}, "Only http:// and https:// URLs are accepted."),
    ({"target": "file:///etc/passwd"}, "Only http:// and https:// URLs are accepted."),
    ({"target": "https:///no-host"}, "The URL needs a host."),
    ({"target": "https://example.com:99999/x"}, "The URL has an invalid host or port."),
    ({"target": "https://exa mple.com/"}, "A URL cannot contain spaces."),
    ({"target": "https://example.com/" + "a" * 3000}, "Field cannot be longer than 2000"),
    ({"target": ""}, "This field is required."),
    ({"name": "x" * 101}, "Field cannot be longer than 100"),
    ({"name": "bad\x07name"}, "Control characters are not allowed."),
    ({"kind": "sms"}, "Not a valid choice"),
    ({"events": ["stale", "everything"]}, "is not a valid choice"),
    ({"events": []}, "Choose at least one event."),
    ({"kind": "email", "target": "not-an-address"}, "Not an email address: not-an-address"),
    ({"kind": "email", "target": ",".join(f"a{i}@x.io" for i in range(21))}, "At most 20"),
    ({"tenant_choice": "some", "tenants": []}, "Choose at least one tenant, or all tenants."),
    ({"tenant_choice": "some", "tenants": ["abc"]}, "Invalid choice(s)"),
]


@pytest.mark.parametrize(("overrides", "message"), HOSTILE)
def test_hostile_input_is_refused_clearly_and_writes_nothing(
    app, db, owner, space, overrides, message
):
    before = db_state(db)
    response = owner.post("/admin/notifications/new", data=_form(**overrides))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db_state(db) == before


def test_a_tenant_of_another_workspace_cannot_be_chosen(app, db, owner, space):
    from tests.factories import make_tenant

    foreign = make_tenant(space.other, slug="foreign")
    before = db_state(db)
    data = _form(tenant_choice="some", tenants=[str(foreign.id)])
    response = owner.post("/admin/notifications/new", data=data)
    assert response.status_code == 422
    assert db_state(db) == before


def test_an_oversized_body_is_refused(app, db, owner, space):
    before = db_state(db)
    response = owner.post("/admin/notifications/new", data=_form(target="x" * 70_000))
    assert response.status_code == 413
    assert db_state(db) == before


def test_a_channel_of_another_workspace_is_404(app, db, owner, space, clock):
    from app.notifications import channels as service

    theirs = service.create_channel(
        workspace_id=space.other.id,
        name="theirs",
        kind="slack",
        target=HOOK,
        events=["failed"],
        tenant_ids=None,
        now=clock.now(),
    )
    db.session.commit()
    for path in ("edit", "log"):
        assert owner.get(f"/admin/notifications/{theirs.id}/{path}").status_code == 404
    for path in ("disable", "enable", "test"):
        assert owner.post(f"/admin/notifications/{theirs.id}/{path}").status_code == 404
    assert "theirs" not in owner.get("/admin/notifications").get_data(as_text=True)


def test_operators_and_viewers_get_404_and_no_nav_item(app, db, client, space):
    for role in ("operator", "viewer"):
        user = make_user()
        make_member(user, space.ws, role, tenants=[space.contoso])
        login(client, user)
        assert client.get("/admin/notifications").status_code == 404
        assert "/admin/notifications" not in client.get("/admin").get_data(as_text=True)


def test_disable_test_and_the_delivery_log(app, db, owner, space, clock, httpserver):
    httpserver.expect_request("/hook").respond_with_data("ok")
    channel = add_channel(space, clock, httpserver.url_for("/hook"))
    assert "/admin/notifications" in owner.get("/admin").get_data(as_text=True)  # nav item
    response = owner.post(f"/admin/notifications/{channel.id}/test")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/admin/notifications/{channel.id}/log")
    (body,) = received(httpserver, channel)
    assert body["test"] is True
    log = owner.get(f"/admin/notifications/{channel.id}/log").get_data(as_text=True)
    assert "Delivered" in log and body["delivery_id"] in log and "data-attempt" in log
    assert owner.post(f"/admin/notifications/{channel.id}/disable").status_code == 303
    assert channels(db)[0].enabled is False
    assert "Disabled" in owner.get("/admin/notifications").get_data(as_text=True)
    assert owner.post(f"/admin/notifications/{channel.id}/enable").status_code == 303
    assert channels(db)[0].enabled is True


def test_a_failing_channel_warns_owners_on_the_overview_not_readyz(
    app, db, owner, space, clock, httpserver
):
    httpserver.expect_request("/gone").respond_with_data("gone", status=410)
    add_channel(space, clock, httpserver.url_for("/gone"), name="Pager bridge")
    run = make_run(space.ws, space.contoso, now=clock.now(), type="inventory_sync")
    complete_run(run, outcome="failed", now=clock.now(), actor="worker")
    for _ in range(4):
        clock.advance(seconds=1)
        run_tick()
    page = owner.get("/admin").get_data(as_text=True)
    assert "data-notifications-warning" in page and "Pager bridge" in page
    assert db.session.scalar(sa.select(NotificationDelivery.status)) == "failed"
    log = owner.get("/admin/notifications").get_data(as_text=True)
    assert "Failing (1 failed attempt in a row)" in log and "HTTP 410 GONE" in log
    ready = owner.get("/readyz")
    assert "notification" not in ready.get_data(as_text=True).lower()
    metrics = owner.get("/metrics").get_data(as_text=True)
    assert 'runwarden_notifications_failed_total{kind="webhook"} 1.0' in metrics


def test_an_owner_mutes_a_tenant_until_a_time(app, db, owner, space, clock):
    data = {"tenant": str(space.contoso.id), "until": "2026-11-26T14:00", "reason": "upgrade"}
    assert owner.post("/admin/notifications/mutes", data=data).status_code == 303
    mute = db.session.scalar(sa.select(NotificationMute))
    assert (mute.tenant_id, f"{mute.until:%H:%M}", mute.reason) == (
        space.contoso.id,
        "14:00",
        "upgrade",
    )
    page = owner.get("/admin/notifications").get_data(as_text=True)
    assert "muted until 2026-11-26 14:00 UTC" in page
    past = {"tenant": str(space.contoso.id), "until": "2020-01-01T00:00"}
    response = owner.post("/admin/notifications/mutes", data=past)
    assert response.status_code == 422
    assert "The end of a mute must be in the future." in response.get_data(as_text=True)
    assert owner.post(f"/admin/notifications/mutes/{mute.id}/end").status_code == 303
    db.session.expire_all()
    assert db.session.get(NotificationMute, mute.id).until == clock.now()
