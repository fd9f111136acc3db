"""Pushes reach only entitled clients whose page shows a run, rendered once per group."""

import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from werkzeug.exceptions import NotFound

from app.extensions import db as _db
from app.live import dispatch, keeper
from app.live.dispatch import GONE
from app.live.feed import Change
from app.live.groups import concerns, group_key
from app.live.keeper import REVOKED
from app.live.registry import Watch
from app.models import Membership, TenantGrant
from app.operations.clock import isoformat
from app.operations.lifecycle import complete_run, create_run
from app.operations.sessions import end_session, start_session
from tests.conftest import T0
from tests.factories import make_member, make_run, make_tenant, make_user, make_workspace
from tests.live.conftest import Harness, received, run_ids


@pytest.fixture
def world(db):
    ws, other_ws = make_workspace(), make_workspace()
    a, b = make_tenant(ws, slug="a"), make_tenant(ws, slug="b")
    foreign = make_tenant(other_ws, slug="foreign")
    users = SimpleNamespace(**{n: make_user() for n in ("owner", "op_a", "viewer_b", "outsider")})
    make_member(users.owner, ws, "owner")
    make_member(users.op_a, ws, "operator", tenants=[a])
    make_member(users.viewer_b, ws, "viewer", tenants=[b])
    make_member(users.outsider, other_ws, "owner")
    runs = SimpleNamespace(
        a=make_run(ws, a, now=T0),
        b=make_run(ws, b, now=T0),
        ws=make_run(ws, None, now=T0),
        foreign=make_run(other_ws, foreign, now=T0),
    )
    return SimpleNamespace(ws=ws, other=other_ws, a=a, b=b, foreign=foreign, u=users, runs=runs)


def ids(client):
    """Run ids in the page update waiting for ``client`` (empty set when none)."""
    message = received(client)
    return None if message is None else run_ids(message)


def test_a_viewer_of_tenant_a_never_receives_tenant_b(app, world, renders):
    h, w = Harness(app), world
    owner_on_a = h.open(w.u.owner, f"/admin/t/{w.a.uuid}")
    op_on_a = h.open(w.u.op_a, f"/admin/t/{w.a.uuid}")
    viewer_on_b = h.open(w.u.viewer_b, f"/admin/t/{w.b.uuid}")

    h.changed(w.runs.b)
    assert received(owner_on_a) is None and received(op_on_a) is None
    assert ids(viewer_on_b) == {w.runs.b.id}

    h.changed(w.runs.a, w.runs.foreign)
    assert ids(owner_on_a) == ids(op_on_a) == {w.runs.a.id}
    assert received(viewer_on_b) is None
    assert all(watch.tenant_id == w.a.id for watch, _ in renders[1:])


def test_a_client_watching_a_tenant_it_may_not_see_receives_nothing(app, world, renders):
    h, w = Harness(app), world
    sneaky = h.attach(w.u.op_a, w.ws, Watch("tenant", w.ws.id, w.b.id, endpoint="x"))
    outsider = h.attach(w.u.outsider, w.other, Watch("workspace", w.ws.id, endpoint="x"))

    assert h.changed(w.runs.a, w.runs.b, w.runs.ws) == 0

    assert received(sneaky) is None and received(outsider) is None
    assert renders == []


def test_workspace_level_runs_reach_every_member_of_the_workspace(app, world):
    h, w = Harness(app), world
    members = [
        h.open(getattr(w.u, name), page)
        for name in ("owner", "op_a", "viewer_b")
        for page in ("/admin", "/admin/operations")
    ]
    tenant_page = h.open(w.u.owner, f"/admin/t/{w.a.uuid}")
    outsider = h.open(w.u.outsider, "/admin")

    h.changed(w.runs.ws)

    for client in members:
        assert w.runs.ws.id in ids(client)
    assert received(tenant_page) is None and received(outsider) is None


def test_overview_and_list_never_carry_a_hidden_tenant(app, world, renders):
    h, w = Harness(app), world
    owner = h.open(w.u.owner, "/admin")
    viewer = h.open(w.u.viewer_b, "/admin")
    viewer_list = h.open(w.u.viewer_b, "/admin/operations")
    owner_list_a = h.open(w.u.owner, f"/admin/operations?tenant_id={w.a.id}")

    h.changed(w.runs.a)  # tenant a: nothing for the viewer of b, not even a render
    assert received(viewer) is None and received(viewer_list) is None
    assert all(scope.tenant_ids is None for _, scope in renders)
    assert {w.runs.a.id, w.runs.b.id} <= ids(owner)
    assert ids(owner_list_a) == {w.runs.a.id}

    h.changed(w.runs.a, w.runs.b)
    assert {w.runs.a.id, w.runs.b.id} <= ids(owner)
    for client in (viewer, viewer_list):
        seen = ids(client)
        assert w.runs.b.id in seen
        assert not seen & {w.runs.a.id, w.runs.foreign.id}
    assert ids(owner_list_a) == {w.runs.a.id}


def test_a_detail_page_receives_its_own_run_only(app, world):
    h, w = Harness(app), world
    detail = h.open(w.u.owner, f"/admin/operations/{w.runs.a.id}")
    forbidden = h.attach(
        w.u.viewer_b, w.ws, Watch("run", w.ws.id, w.a.id, w.runs.a.id, endpoint="x")
    )

    h.changed(w.runs.b)
    assert received(detail) is None
    h.changed(w.runs.a, w.runs.b)
    assert ids(detail) == {w.runs.a.id}
    assert received(forbidden) is None


def test_same_page_and_visibility_share_one_render(app, world, renders):
    h, w = Harness(app), world
    second_owner = make_user()
    make_member(second_owner, w.ws, "owner")
    second_op = make_user()
    make_member(second_op, w.ws, "operator", tenants=[w.a])
    owners = [h.open(w.u.owner, "/admin") for _ in range(2)] + [h.open(second_owner, "/admin")]
    operators = [h.open(w.u.op_a, "/admin"), h.open(second_op, "/admin")]
    assert len({group_key(c) for c in owners}) == len({group_key(c) for c in operators}) == 1

    assert h.changed(w.runs.a, w.runs.a, w.runs.ws) == 5

    assert len(renders) == 2 and h.dispatcher.renders == 2
    assert {scope.tenant_ids for _, scope in renders} == {None, frozenset({w.a.id})}
    owner_pages = {received(c) for c in owners}
    operator_pages = {received(c) for c in operators}
    assert len(owner_pages) == len(operator_pages) == 1
    assert owner_pages != operator_pages
    assert w.runs.b.id in run_ids(*owner_pages)
    assert w.runs.b.id not in run_ids(*operator_pages)


def test_concerns_follow_page_kind_and_visibility(app, world):
    h, w = Harness(app), world
    pages = {
        "overview": h.open(w.u.op_a, "/admin"),
        "list": h.open(w.u.op_a, "/admin/operations"),
        "list_a": h.open(w.u.op_a, f"/admin/operations?tenant_id={w.a.id}"),
        "tenant_a": h.open(w.u.op_a, f"/admin/t/{w.a.uuid}"),
        "detail_a": h.open(w.u.op_a, f"/admin/operations/{w.runs.a.id}"),
        "reconciler": h.open(w.u.op_a, "/admin/reconciler"),
    }

    def concerned(run):
        change = Change(1, run.id, run.workspace_id, run.tenant_id)
        return {name for name, client in pages.items() if concerns(client, change)}

    assert concerned(w.runs.a) == {"overview", "list", "list_a", "tenant_a", "detail_a"}
    assert concerned(w.runs.ws) == {"overview", "list"}
    assert concerned(w.runs.b) == set()
    assert concerned(w.runs.foreign) == set()


def test_a_change_in_another_workspace_reaches_nobody_here(app, world, renders):
    h, w = Harness(app), world
    clients = [
        h.open(w.u.owner, page)
        for page in ("/admin", "/admin/operations", f"/admin/t/{w.a.uuid}", "/admin/reconciler")
    ]
    assert h.changed(w.runs.foreign) == 0
    assert renders == [] and all(received(c) is None for c in clients)


def test_a_failing_render_does_not_stop_other_groups(app, world, monkeypatch):
    h, w = Harness(app), world
    real = dispatch.render

    def render(watch, scope, now, as_of=None):
        if watch.kind == "tenant":
            raise RuntimeError("template broke")
        return real(watch, scope, now, as_of=as_of)

    monkeypatch.setattr(dispatch, "render", render)
    broken = h.open(w.u.owner, f"/admin/t/{w.a.uuid}")
    fine = h.open(w.u.owner, "/admin")

    assert h.changed(w.runs.a) == 1

    assert received(broken) is None and broken.closing is None
    assert w.runs.a.id in ids(fine)
    assert h.dispatcher.errors == 1


def test_a_page_that_now_answers_404_ends_its_sockets(app, world, monkeypatch):
    h, w = Harness(app), world
    client = h.open(w.u.owner, f"/admin/operations/{w.runs.a.id}")

    def gone(*args, **kwargs):
        raise NotFound()

    monkeypatch.setattr(dispatch, "render", gone)
    assert h.changed(w.runs.a) == 0
    assert client.closing == GONE


def test_catch_up_pushes_changes_made_since_the_page_was_rendered(app, world, clock):
    h, w = Harness(app), world
    create_run(workspace_id=w.ws.id, tenant_id=w.a.id, type="baseline_compare", now=T0, actor="t")
    rendered_at = clock.advance(60)
    late = create_run(
        workspace_id=w.ws.id,
        tenant_id=w.a.id,
        type="baseline_compare",
        now=clock.advance(5),
        actor="t",
    )
    complete_run(w.runs.b, outcome="succeeded", now=clock.now(), actor="t")
    on_a = h.open(w.u.op_a, f"/admin/t/{w.a.uuid}")
    on_b = h.open(w.u.viewer_b, f"/admin/t/{w.b.uuid}")
    later = h.open(w.u.op_a, f"/admin/t/{w.a.uuid}")

    h.dispatcher.catch_up(on_a, rendered_at)
    h.dispatcher.catch_up(on_b, clock.now() + timedelta(minutes=5))
    assert h.dispatcher.process() == 1
    assert late.id in ids(on_a)
    assert received(on_b) is None and received(later) is None
    assert h.dispatcher.schedule.has(group_key(on_b)), "planned even when nothing changed"

    h.dispatcher.catch_up(later, None)  # no render instant known: bring it up to date
    assert h.dispatcher.process() == 1 and late.id in ids(later)


# -- as_of: how current the pages are ---------------------------------------------------------


def test_as_of_advances_only_once_pending_work_is_processed(app, world):
    h, w = Harness(app), world
    client = h.open(w.u.owner, "/admin")
    d = h.dispatcher
    first = T0 - timedelta(seconds=2)

    d.submit([], first)
    assert d.as_of is None, "not before the sweep"
    assert d.process() == 0 and d.as_of == first

    d.submit([Change(1, w.runs.a.id, w.ws.id, w.a.id)], T0 - timedelta(seconds=1))
    d.submit([], T0)
    assert d.as_of == first, "a change is pending: the pages are not current to T0 yet"
    assert d.process() == 1
    assert d.as_of == T0
    page = received(client)
    assert f'data-as-of="{isoformat(T0)}"' in page


# -- refresh: entitlements and sessions are re-read --------------------------------------------


def _signed_in(h, user, page, clock):
    return h.open(user, page, session_key=start_session(user, clock.now()))


def _revoke_grants(user):
    membership = _db.session.scalar(_db.select(Membership).where(Membership.user_id == user.id))
    _db.session.execute(_db.delete(TenantGrant).where(TenantGrant.membership_id == membership.id))
    _db.session.commit()


def test_a_removed_tenant_grant_revokes_the_tenant_page(app, world, clock):
    h, w = Harness(app, scope_ttl=0), world
    tenant_page = _signed_in(h, w.u.op_a, f"/admin/t/{w.a.uuid}", clock)
    overview = _signed_in(h, w.u.op_a, "/admin", clock)
    h.changed(w.runs.a)
    assert ids(tenant_page) == {w.runs.a.id}
    assert w.runs.a.id in ids(overview)

    _revoke_grants(w.u.op_a)
    h.changed(w.runs.a)

    assert received(tenant_page) is None and received(overview) is None
    assert overview.closing is None and overview.scope.tenant_ids == frozenset()


def test_a_removed_membership_revokes_every_socket(app, world, clock):
    h, w = Harness(app, scope_ttl=0), world
    clients = [_signed_in(h, w.u.op_a, page, clock) for page in ("/admin", "/admin/operations")]
    _db.session.execute(_db.delete(Membership).where(Membership.user_id == w.u.op_a.id))
    _db.session.commit()

    assert h.changed(w.runs.a) == 0
    assert [c.closing for c in clients] == [REVOKED, REVOKED]
    assert all(received(c) is None for c in clients)
    assert REVOKED.startswith("revoked ")


def test_a_deactivated_user_is_revoked(app, world, clock):
    h, w = Harness(app, scope_ttl=0), world
    client = _signed_in(h, w.u.owner, "/admin", clock)
    w.u.owner.active = False
    _db.session.commit()

    h.changed(w.runs.a)
    assert client.closing == REVOKED and received(client) is None


def test_an_ended_session_ends_its_sockets_at_the_next_refresh(app, world, clock):
    h, w = Harness(app, scope_ttl=0), world
    signed_out = start_session(w.u.owner, clock.now())
    kept = start_session(w.u.owner, clock.now())
    mine = [h.open(w.u.owner, p, session_key=signed_out) for p in ("/admin", "/admin/operations")]
    other = h.open(w.u.owner, "/admin", session_key=kept)
    h.dispatcher.keep(send_timeout=5)
    assert all(c.closing is None for c in [*mine, other])

    end_session(signed_out, clock.now())
    h.dispatcher.keep(send_timeout=5)

    assert [c.closing for c in mine] == [REVOKED, REVOKED]
    assert other.closing is None


def _statements():
    seen = []

    def note(conn, cursor, statement, *args):
        seen.append(statement.lstrip().split()[0].upper())

    _db.event.listen(_db.engine, "before_cursor_execute", note)
    return seen, lambda: _db.event.remove(_db.engine, "before_cursor_execute", note)


def test_every_page_is_re_checked_in_three_statements(app, world, clock):
    """Scopes and sessions of every open page are read together: two statements for the
    scopes and one for the sessions, however many pages, users and sessions are open."""
    h, w = Harness(app, scope_ttl=0), world
    owner_sid = start_session(w.u.owner, clock.now())
    for page in ("/admin", "/admin/operations", f"/admin/t/{w.a.uuid}", "/admin/reconciler"):
        h.open(w.u.owner, page, session_key=owner_sid)
    for _ in range(3):
        _signed_in(h, w.u.op_a, "/admin", clock)
    for _ in range(2):
        _signed_in(h, w.u.viewer_b, f"/admin/t/{w.b.uuid}", clock)
    before = {c.id: c.scope for c in h.registry.snapshot()}
    seen, stop = _statements()
    try:
        h.dispatcher.keep(send_timeout=5)
    finally:
        stop()
    assert seen == ["SELECT", "SELECT", "SELECT"]
    assert all(c.closing is None for c in h.registry.snapshot())
    assert {c.id: c.scope for c in h.registry.snapshot()} == before


def test_a_recheck_ends_only_the_pages_that_lost_access(app, world, clock):
    h, w = Harness(app, scope_ttl=0), world
    kept = [_signed_in(h, w.u.owner, "/admin", clock) for _ in range(2)]
    lost = [_signed_in(h, w.u.op_a, page, clock) for page in ("/admin", "/admin/operations")]
    viewer = _signed_in(h, w.u.viewer_b, f"/admin/t/{w.b.uuid}", clock)
    _db.session.execute(_db.delete(Membership).where(Membership.user_id == w.u.op_a.id))
    _db.session.commit()
    end_session(viewer.session_key, clock.now())
    h.dispatcher.keep(send_timeout=5)
    assert [c.closing for c in lost] == [REVOKED, REVOKED] and viewer.closing == REVOKED
    assert all(c.closing is None for c in kept)
    assert h.dispatcher.refresh(h.registry.snapshot()) == kept


def test_pages_are_re_checked_together_once_the_oldest_check_is_due(app, world, clock):
    h, w = Harness(app, scope_ttl=3), world
    old = _signed_in(h, w.u.owner, "/admin", clock)
    new = _signed_in(h, w.u.op_a, "/admin", clock)
    old.scope_checked_at -= 3  # checked 3 s ago: due; the other one just now
    checked = time.monotonic()
    h.dispatcher.keep(send_timeout=5)
    assert old.scope_checked_at >= checked and new.scope_checked_at >= checked
    seen, stop = _statements()
    try:
        h.dispatcher.keep(send_timeout=5)  # nothing due: no statement
    finally:
        stop()
    assert seen == []


def test_scopes_are_not_re_read_before_their_ttl(app, world, clock, monkeypatch):
    h, w = Harness(app, scope_ttl=60), world
    calls = []
    monkeypatch.setattr(keeper, "scopes_of_members", lambda pairs: calls.append(pairs) or {})
    client = _signed_in(h, w.u.owner, "/admin", clock)
    h.changed(w.runs.a)
    h.dispatcher.keep(send_timeout=5)
    assert calls == [] and client.closing is None
