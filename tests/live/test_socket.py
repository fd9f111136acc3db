"""The stream socket: who may open it, what it watches, and pushes over a real socket."""

import http.client
import threading

import pytest
from flask_login import login_user
from werkzeug.serving import make_server

from app.live import get_live, init_live, stop_relay
from app.live.assets import transition_in_ms
from app.live.registry import Watch
from app.live.watch import resolve_watch
from app.operations.lifecycle import complete_run, create_run
from tests.conftest import T0, login
from tests.factories import make_member, make_run, make_tenant, make_user, make_workspace
from tests.live.conftest import RecordingRender, connect_ws, runs_in

UPGRADE = {
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
}


@pytest.fixture
def people(db):
    ws = make_workspace()
    a, b = make_tenant(ws), make_tenant(ws)
    owner, op_a = make_user(), make_user()
    make_member(owner, ws, "owner")
    make_member(op_a, ws, "operator", tenants=[a])
    return ws, a, b, owner, op_a


def test_anonymous_sockets_are_refused_before_the_handshake(app):
    init_live(app)
    response = app.test_client().get("/live/stream?page=/admin", headers=UPGRADE)
    assert response.status_code == 401


def test_a_foreign_origin_is_refused(app, people):
    init_live(app)
    *_, owner, _ = people
    client = login(app.test_client(), owner)
    headers = {**UPGRADE, "Origin": "https://evil.example"}
    assert client.get("/live/stream?page=/admin", headers=headers).status_code == 403


def test_a_page_the_user_may_not_open_is_refused(app, people):
    init_live(app)
    ws, a, b, owner, op_a = people
    client = login(app.test_client(), op_a)
    response = client.get(f"/live/stream?page=/admin/t/{b.uuid}", headers=UPGRADE)
    assert response.status_code == 404


def _resolve(app, user, page):
    with app.test_request_context("/"):
        login_user(user)
        return resolve_watch(user, page)


def test_pages_resolve_to_watches(app, people):
    ws, a, b, owner, op_a = people
    run_b = make_run(ws, b, now=T0)
    watch, scope = _resolve(app, op_a, f"/admin/t/{a.uuid}/active-operations")
    assert (watch.kind, watch.workspace_id, watch.tenant_id) == ("tenant", ws.id, a.id)
    assert scope.tenant_ids == frozenset({a.id})
    assert _resolve(app, op_a, f"/admin/t/{b.uuid}") is None
    assert _resolve(app, op_a, "/admin/t/not-a-tenant") is None
    assert _resolve(app, op_a, f"/admin/operations/{run_b.id}") is None
    assert _resolve(app, owner, f"/admin/operations/{run_b.id}")[0].run_id == run_b.id
    assert _resolve(app, op_a, f"/admin/operations?tenant_id={b.id}") is None
    listed, _ = _resolve(app, op_a, f"/admin/operations?tenant_id={a.id}&activeTab=active")
    assert (listed.kind, listed.tenant_id) == ("list", a.id)
    assert listed.page == f"/admin/operations?tenant_id={a.id}&activeTab=active"
    assert _resolve(app, owner, "/admin")[0].kind == "workspace"
    assert _resolve(app, owner, "/admin/reconciler")[0].kind == "page"
    stranger = make_user()
    assert _resolve(app, stranger, "/admin") == (Watch("page", page="/admin"), None)


def test_transition_in_ms_counts_from_the_app_clock(app, clock):
    from datetime import timedelta

    with app.app_context():
        assert transition_in_ms(None) == ""
        soon = clock.now() + timedelta(seconds=2, microseconds=1)
        assert transition_in_ms(None, soon, [clock.now() + timedelta(hours=1)]) == 2001
        assert transition_in_ms(clock.now() - timedelta(seconds=3)) == 0


@pytest.fixture
def served(relay_app):
    """``relay_app`` served by a threaded Werkzeug server with a recording renderer."""
    relay_app.config.update(LIVE_HEARTBEAT_SECONDS=0.2, LIVE_POLL_INTERVAL=0.05)
    render = RecordingRender()
    dispatcher = init_live(relay_app).dispatcher
    dispatcher.render, dispatcher.plan = render, None
    server = make_server("127.0.0.1", 0, relay_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield relay_app, f"ws://127.0.0.1:{server.server_port}", render
    server.shutdown()
    stop_relay(relay_app)


def _socket(app, base, user, page):
    client = login(app.test_client(), user)
    cookie = client.get_cookie("session").value
    return connect_ws(f"{base}/live/stream?page={page}", cookie)


def _receive_runs(socket, wanted, limit=50):
    seen = set()
    for _ in range(limit):
        message = socket.receive(timeout=5)
        if message is None:
            break
        seen |= runs_in([message])
        if wanted <= seen:
            break
    return seen


def test_a_lifecycle_change_is_pushed_over_a_real_socket(served, clock):
    app, base, render = served
    ws = make_workspace()
    a, b = make_tenant(ws), make_tenant(ws)
    op_a = make_user()
    make_member(op_a, ws, "operator", tenants=[a])
    on_a = _socket(app, base, op_a, f"/admin/t/{a.uuid}")
    assert on_a.receive(timeout=5) == "ping"
    assert get_live(app).relay.healthy()

    other = create_run(
        workspace_id=ws.id, tenant_id=b.id, type="baseline_compare", now=clock.now(), actor="w"
    )
    mine = create_run(
        workspace_id=ws.id, tenant_id=a.id, type="baseline_compare", now=clock.now(), actor="w"
    )
    complete_run(mine, outcome="failed", now=clock.advance(3), actor="w")

    assert _receive_runs(on_a, {mine.id}) == {mine.id}
    assert other.id not in {run for _, _, runs in render.calls for run in runs}
    on_a.close()


def test_catch_up_on_connect_and_heartbeats(served, clock):
    app, base, render = served
    ws = make_workspace()
    a = make_tenant(ws)
    owner = make_user()
    make_member(owner, ws, "owner")
    rendered_at = clock.now()
    run = create_run(
        workspace_id=ws.id, tenant_id=a.id, type="baseline_compare", now=clock.advance(1), actor="w"
    )

    since = rendered_at.isoformat() + "Z"
    client = login(app.test_client(), owner)
    cookie = client.get_cookie("session").value
    socket = connect_ws(f"{base}/live/stream?page=/admin/t/{a.uuid}&since={since}", cookie)
    messages = [socket.receive(timeout=5) for _ in range(3)]
    socket.close()

    assert messages[0] == "ping"
    assert runs_in(messages) == {run.id}
    assert "ping" in messages[1:]


def test_a_refused_socket_never_opens(served):
    app, base, _ = served
    ws = make_workspace()
    a, b = make_tenant(ws), make_tenant(ws)
    op_a = make_user()
    make_member(op_a, ws, "operator", tenants=[a])
    cookie = login(app.test_client(), op_a).get_cookie("session").value
    assert _handshake(base, f"/admin/t/{b.uuid}", cookie) == 404
    assert _handshake(base, "/admin", None) == 401
    assert _handshake(base, f"/admin/t/{a.uuid}", cookie) == 101


def _handshake(base, page, cookie):
    connection = http.client.HTTPConnection(base.removeprefix("ws://"), timeout=5)
    headers = dict(UPGRADE, **({"Cookie": f"session={cookie}"} if cookie else {}))
    try:
        connection.request("GET", f"/live/stream?page={page}", headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()
