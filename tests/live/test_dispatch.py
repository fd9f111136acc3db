"""Pushes reach only the clients entitled to a run and watching a page that shows it."""

from datetime import timedelta

import pytest

from app.extensions import db as _db
from app.live.dispatch import Dispatcher
from app.live.feed import Change
from app.live.registry import LiveRegistry
from app.models import Membership, TenantGrant
from app.operations.lifecycle import complete_run, create_run
from app.operations.visibility import scope_for_user
from tests.conftest import T0
from tests.factories import make_member, make_run, make_tenant, make_user, make_workspace
from tests.live.conftest import FakeSocket, runs_in


@pytest.fixture
def world(db):
    ws, other_ws = make_workspace(), make_workspace()
    a, b = make_tenant(ws, slug="a"), make_tenant(ws, slug="b")
    foreign = make_tenant(other_ws, slug="foreign")
    users = {name: make_user() for name in ("owner", "op_a", "viewer_b", "outsider")}
    make_member(users["owner"], ws, "owner")
    make_member(users["op_a"], ws, "operator", tenants=[a])
    make_member(users["viewer_b"], ws, "viewer", tenants=[b])
    make_member(users["outsider"], other_ws, "owner")
    runs = {
        "a": make_run(ws, a, now=T0),
        "b": make_run(ws, b, now=T0),
        "ws": make_run(ws, None, now=T0),
        "foreign": make_run(other_ws, foreign, now=T0),
    }
    return ws, other_ws, {"a": a, "b": b, "foreign": foreign}, users, runs


class Harness:
    def __init__(self, app, render, scope_ttl=60.0):
        self.registry = LiveRegistry()
        self.dispatch = Dispatcher(app, self.registry, render, scope_ttl=scope_ttl)

    def connect(self, user, workspace, watch):
        ws = FakeSocket()
        self.registry.connect(ws, user.id, watch, scope_for_user(user, workspace.id))
        return ws

    def changed(self, *runs):
        return self.dispatch(
            [Change(n, r.id, r.workspace_id, r.tenant_id) for n, r in enumerate(runs, 1)]
        )


def test_a_viewer_of_tenant_a_never_receives_tenant_b(app, world, render, watch):
    ws, _, tenants, users, runs = world
    h = Harness(app, render)
    owner_on_a = h.connect(users["owner"], ws, watch("tenant", ws.id, tenants["a"].id))
    op_on_a = h.connect(users["op_a"], ws, watch("tenant", ws.id, tenants["a"].id))
    viewer_on_b = h.connect(users["viewer_b"], ws, watch("tenant", ws.id, tenants["b"].id))

    h.changed(runs["b"])
    assert owner_on_a.sent == [] and op_on_a.sent == []
    assert runs_in(viewer_on_b.sent) == {runs["b"].id}

    h.changed(runs["a"], runs["foreign"])
    assert runs_in(owner_on_a.sent) == runs_in(op_on_a.sent) == {runs["a"].id}
    assert runs_in(viewer_on_b.sent) == {runs["b"].id}


def test_a_client_watching_a_tenant_it_may_not_see_receives_nothing(app, world, render, watch):
    ws, _, tenants, users, runs = world
    h = Harness(app, render)
    sneaky = h.connect(users["op_a"], ws, watch("tenant", ws.id, tenants["b"].id))
    outsider = h.connect(users["outsider"], ws, watch("workspace", ws.id))

    h.changed(runs["a"], runs["b"], runs["ws"])

    assert sneaky.sent == []
    assert outsider.sent == []


def test_workspace_level_runs_reach_every_member_of_the_workspace(app, world, render, watch):
    ws, other_ws, tenants, users, runs = world
    h = Harness(app, render)
    members = [
        h.connect(users[name], ws, watch(kind, ws.id))
        for name in ("owner", "op_a", "viewer_b")
        for kind in ("workspace", "list")
    ]
    tenant_page = h.connect(users["owner"], ws, watch("tenant", ws.id, tenants["a"].id))
    outsider = h.connect(users["outsider"], other_ws, watch("workspace", other_ws.id))

    h.changed(runs["ws"])

    for sent in (m.sent for m in members):
        assert runs_in(sent) == {runs["ws"].id}
    assert tenant_page.sent == []
    assert outsider.sent == []


def test_overview_and_list_carry_only_visible_tenants(app, world, render, watch):
    ws, _, tenants, users, runs = world
    h = Harness(app, render)
    owner = h.connect(users["owner"], ws, watch("workspace", ws.id))
    viewer = h.connect(users["viewer_b"], ws, watch("workspace", ws.id))
    viewer_list_a = h.connect(users["owner"], ws, watch("list", ws.id, tenants["a"].id))

    h.changed(runs["a"], runs["b"])

    assert runs_in(owner.sent) == {runs["a"].id, runs["b"].id}
    assert runs_in(viewer.sent) == {runs["b"].id}
    assert runs_in(viewer_list_a.sent) == {runs["a"].id}


def test_a_detail_page_receives_its_own_run_only(app, world, render, watch):
    ws, _, tenants, users, runs = world
    h = Harness(app, render)
    detail = h.connect(users["owner"], ws, watch("run", ws.id, tenants["a"].id, runs["a"].id))
    forbidden = h.connect(users["viewer_b"], ws, watch("run", ws.id, tenants["a"].id, runs["a"].id))

    h.changed(runs["a"], runs["b"])

    assert runs_in(detail.sent) == {runs["a"].id}
    assert forbidden.sent == []


def test_clients_with_the_same_page_and_visibility_share_one_rendering(app, world, render, watch):
    ws, _, tenants, users, runs = world
    h = Harness(app, render)
    second_owner = make_user()
    make_member(second_owner, ws, "owner")
    sockets = [
        h.connect(users["owner"], ws, watch("tenant", ws.id, tenants["a"].id, page=p))
        for p in ("/admin/t/x", "/admin/t/x/")
    ]
    sockets.append(h.connect(second_owner, ws, watch("tenant", ws.id, tenants["a"].id)))

    h.changed(runs["a"])

    assert len(render.calls) == 1
    assert all(s.sent == sockets[0].sent != [] for s in sockets)


def test_a_revoked_grant_stops_pushes_after_the_scope_is_re_read(app, world, render, watch):
    ws, _, tenants, users, runs = world
    h = Harness(app, render, scope_ttl=0)
    client = h.connect(users["op_a"], ws, watch("tenant", ws.id, tenants["a"].id))
    h.changed(runs["a"])
    assert runs_in(client.sent) == {runs["a"].id}

    membership = _db.session.scalar(
        _db.select(Membership).where(Membership.user_id == users["op_a"].id)
    )
    _db.session.execute(_db.delete(TenantGrant).where(TenantGrant.membership_id == membership.id))
    _db.session.commit()
    client.sent.clear()

    h.changed(runs["a"])
    assert client.sent == []


def test_a_deactivated_user_is_disconnected(app, world, render, watch):
    ws, _, tenants, users, runs = world
    h = Harness(app, render, scope_ttl=0)
    client = h.connect(users["owner"], ws, watch("workspace", ws.id))
    users["owner"].active = False
    _db.session.commit()

    h.changed(runs["a"])

    assert client.sent == [] and client.closed
    assert len(h.registry) == 0


def test_a_failing_render_does_not_stop_other_groups(app, world, watch):
    ws, _, tenants, users, runs = world

    def render(watch_, scope, runs_):
        if watch_.kind == "tenant":
            raise RuntimeError("template broke")
        return "<turbo-stream></turbo-stream>"

    h = Harness(app, render)
    broken = h.connect(users["owner"], ws, watch("tenant", ws.id, tenants["a"].id))
    fine = h.connect(users["owner"], ws, watch("workspace", ws.id))

    h.changed(runs["a"])

    assert broken.sent == [] and fine.sent == ["<turbo-stream></turbo-stream>"]


def test_catch_up_pushes_changes_made_since_the_page_was_rendered(app, world, render, watch, clock):
    ws, _, tenants, users, runs = world
    h = Harness(app, render)
    create_run(
        workspace_id=ws.id,
        tenant_id=tenants["a"].id,
        type="baseline_compare",
        now=clock.now(),
        actor="test",
    )
    rendered_at = clock.advance(60)
    late = create_run(
        workspace_id=ws.id,
        tenant_id=tenants["a"].id,
        type="baseline_compare",
        now=clock.advance(5),
        actor="test",
    )
    complete_run(runs["b"], outcome="succeeded", now=clock.now(), actor="test")
    ws_ = FakeSocket()
    client = h.registry.connect(
        ws_,
        users["op_a"].id,
        watch("tenant", ws.id, tenants["a"].id),
        scope_for_user(users["op_a"], ws.id),
    )

    assert h.dispatch.catch_up(client, rendered_at) == 1
    assert runs_in(ws_.sent) == {late.id}
    assert h.dispatch.catch_up(client, None) == 0
    assert h.dispatch.catch_up(client, clock.now() + timedelta(minutes=5)) == 0
