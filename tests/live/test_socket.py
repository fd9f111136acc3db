"""The stream socket: who may open it, how many, what it says, and pushes over a real socket."""

import http.client
import re
import time
from datetime import timedelta

import pytest
from flask_login import login_user
from simple_websocket import ConnectionClosed

from app.live import get_live
from app.live.assets import transition_in_ms
from app.live.registry import Watch
from app.live.watch import resolve_watch
from app.operations.lifecycle import complete_run, create_run
from app.operations.sessions import end_session
from tests.conftest import T0, login
from tests.factories import make_member, make_run, make_tenant, make_user, make_workspace
from tests.live.conftest import _cookie, _new_run, _world, connect_ws, run_ids

UPGRADE = {
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
}
STATE = re.compile(r"^(current \d+|stale)$")
PAGE_UPDATE = '<turbo-stream action="replace" method="morph" target="page-content">'


@pytest.fixture
def people(db):
    ws = make_workspace()
    a, b = make_tenant(ws), make_tenant(ws)
    owner, op_a = make_user(), make_user()
    make_member(owner, ws, "owner")
    make_member(op_a, ws, "operator", tenants=[a])
    return ws, a, b, owner, op_a


# -- refusals before the handshake (test client) ---------------------------------------------


def test_anonymous_sockets_are_refused_before_the_handshake(app):
    response = app.test_client().get("/live/stream?page=/admin", headers=UPGRADE)
    assert response.status_code == 401


def test_a_foreign_origin_is_refused(app, people):
    *_, owner, _ = people
    client = login(app.test_client(), owner)
    headers = {**UPGRADE, "Origin": "https://evil.example"}
    assert client.get("/live/stream?page=/admin", headers=headers).status_code == 403


def test_a_page_the_user_may_not_open_is_refused(app, people):
    ws, a, b, owner, op_a = people
    client = login(app.test_client(), op_a)
    response = client.get(f"/live/stream?page=/admin/t/{b.uuid}", headers=UPGRADE)
    assert response.status_code == 404


def test_a_web_process_leaves_streams_to_the_live_process(app, people):
    *_, owner, _ = people
    app.config["LIVE_MODE"] = "external"
    response = login(app.test_client(), owner).get("/live/stream?page=/admin", headers=UPGRADE)
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert get_live(app).relay is None, "no relay thread in a web process"


def _resolve(app, user, page):
    with app.test_request_context("/"):
        login_user(user)
        return resolve_watch(user, page)


def test_pages_resolve_to_watches(app, people):
    ws, a, b, owner, op_a = people
    run_b = make_run(ws, b, now=T0)
    watch, scope = _resolve(app, op_a, f"/admin/t/{a.uuid}")
    assert (watch.kind, watch.workspace_id, watch.tenant_id) == ("tenant", ws.id, a.id)
    assert (watch.endpoint, dict(watch.view_args)) == ("tenant.dashboard", {"tenant_uuid": a.uuid})
    assert scope.tenant_ids == frozenset({a.id})
    assert _resolve(app, op_a, f"/admin/t/{b.uuid}") is None
    assert _resolve(app, op_a, "/admin/t/not-a-tenant") is None
    assert _resolve(app, op_a, f"/admin/operations/{run_b.id}") is None
    assert _resolve(app, owner, f"/admin/operations/{run_b.id}")[0].run_id == run_b.id
    assert _resolve(app, op_a, f"/admin/operations?tenant_id={b.id}") is None
    assert _resolve(app, op_a, "/admin/operations?tenant_id=x1") is None
    listed, _ = _resolve(app, op_a, f"/admin/operations?tenant_id={a.id}&activeTab=active")
    assert (listed.kind, listed.tenant_id) == ("list", a.id)
    assert listed.page == f"/admin/operations?tenant_id={a.id}&activeTab=active"
    assert dict(listed.args) == {"tenant_id": str(a.id), "activeTab": "active"}
    assert _resolve(app, owner, "/admin")[0].kind == "workspace"
    reconciler, _ = _resolve(app, owner, "/admin/reconciler")
    assert (reconciler.kind, reconciler.workspace_id) == ("reconciler", ws.id)
    assert _resolve(app, owner, f"/admin/t/{a.uuid}/active-operations")[0].kind == "page"
    assert _resolve(app, owner, "/no/such/page") is None
    stranger = make_user()
    assert _resolve(app, stranger, "/admin") == (Watch("page", page="/admin"), None)


def test_transition_in_ms_counts_from_the_app_clock(app, clock):
    assert transition_in_ms(None) == ""
    soon = clock.now() + timedelta(seconds=2, microseconds=1)
    assert transition_in_ms(None, soon, [clock.now() + timedelta(hours=1)]) == 2001
    assert transition_in_ms(clock.now() - timedelta(seconds=3)) == 0


# -- a real server ---------------------------------------------------------------------------


def _socket(base, cookie, page, since=None):
    query = f"page={page}" + (f"&since={since}" if since else "")
    return connect_ws(f"{base}/live/stream?{query}", cookie)


def _until_update(socket, wanted=None, timeout=5):
    """The next page update (containing run ``wanted`` if given); fails after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, "no page update arrived"
        message = socket.receive(timeout=remaining)
        if message and message.startswith(PAGE_UPDATE):
            if wanted is None or wanted in run_ids(message):
                return message


def _handshake(base, page, cookie, timeout=5):
    """(status, headers, seconds) of a stream handshake."""
    connection = http.client.HTTPConnection(base.removeprefix("ws://"), timeout=timeout)
    headers = dict(UPGRADE, **({"Cookie": f"session={cookie}"} if cookie else {}))
    began = time.monotonic()
    try:
        connection.request("GET", f"/live/stream?page={page}", headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), time.monotonic() - began
    finally:
        connection.close()


def test_a_lifecycle_change_is_pushed_over_a_real_socket(served, clock):
    app, base = served
    ws, a, b, owner, op_a = _world(clock)
    on_a = _socket(base, _cookie(app, op_a)[0], f"/admin/t/{a.uuid}")
    overview = _socket(base, _cookie(app, op_a)[0], "/admin")
    assert STATE.match(on_a.receive(timeout=5))
    assert get_live(app).relay.healthy()

    other = _new_run(ws, b, clock)
    mine = _new_run(ws, a, clock)
    complete_run(mine, outcome="failed", now=clock.advance(3), actor="w")

    for socket in (on_a, overview):
        page = _until_update(socket, mine.id)
        assert other.id not in run_ids(page)
        socket.close()


def test_the_first_message_says_how_current_the_page_is(served, clock):
    app, base = served
    ws, a, b, owner, op_a = _world(clock)
    socket = _socket(base, _cookie(app, owner)[0], "/admin")
    assert STATE.match(socket.receive(timeout=5)), "first: how current, before any page"
    messages = [socket.receive(timeout=5) for _ in range(5)]
    assert all(STATE.match(m) or m.startswith(PAGE_UPDATE) for m in messages)
    assert "current 0" in messages, "the relay reads at the frozen clock's now"

    get_live(app).relay.stop()
    deadline = time.monotonic() + 5
    while socket.receive(timeout=5) != "stale":
        assert time.monotonic() < deadline, "a relay that stopped reading is never 'current'"
    socket.close()


def test_catch_up_on_connect(served, clock):
    app, base = served
    ws, a, b, owner, op_a = _world(clock)
    cookie = _cookie(app, owner)[0]
    rendered_at = clock.now()
    run = create_run(
        workspace_id=ws.id, tenant_id=a.id, type="baseline_compare", now=clock.advance(1), actor="w"
    )
    since = rendered_at.isoformat() + "Z"
    clock.advance(3)  # past the catch-up margin, within the few seconds a feed read covers

    caught_up = _socket(base, cookie, f"/admin/t/{a.uuid}", since=since)
    current = _socket(base, cookie, f"/admin/t/{a.uuid}", since=clock.now().isoformat() + "Z")
    bystander = _socket(base, cookie, f"/admin/t/{b.uuid}", since=since)

    assert STATE.match(caught_up.receive(timeout=5))
    assert run.id in run_ids(_until_update(caught_up, run.id))
    for socket in (current, bystander):
        heard = [socket.receive(timeout=5) for _ in range(4)]
        assert all(STATE.match(m) for m in heard), "nothing to catch up on: heartbeats only"
    for socket in (caught_up, current, bystander):
        socket.close()


def test_a_refused_socket_never_opens(served):
    app, base = served
    ws, a, b, owner, op_a = _world(None)
    cookie = _cookie(app, op_a)[0]
    assert _handshake(base, f"/admin/t/{b.uuid}", cookie)[0] == 404
    assert _handshake(base, "/admin", None)[0] == 401
    assert _handshake(base, f"/admin/t/{a.uuid}", cookie)[0] == 101


def test_the_per_session_cap_answers_429_at_once(served):
    app, base = served
    app.config["LIVE_MAX_STREAMS_PER_SESSION"] = 3
    ws, a, b, owner, op_a = _world(None)
    cookie, sid = _cookie(app, owner)
    sockets = [_socket(base, cookie, "/admin") for _ in range(3)]
    for socket in sockets:
        assert STATE.match(socket.receive(timeout=5))

    status, headers, seconds = _handshake(base, "/admin", cookie)
    assert status == 429 and seconds < 2
    assert _handshake(base, "/admin", _cookie(app, owner)[0])[0] == 101, "another session"

    sockets.pop().close()
    deadline = time.monotonic() + 5
    registry = get_live(app).registry
    while sum(1 for c in registry.snapshot() if c.session_key == sid) >= 3:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert _handshake(base, "/admin", cookie)[0] == 101, "a closed page frees its place"
    for socket in sockets:
        socket.close()


def test_a_full_process_answers_503_with_retry_after(served):
    app, base = served
    app.config["LIVE_MAX_CLIENTS"] = 1
    ws, a, b, owner, op_a = _world(None)
    first = _socket(base, _cookie(app, owner)[0], "/admin")
    assert STATE.match(first.receive(timeout=5))

    status, headers, seconds = _handshake(base, "/admin", _cookie(app, op_a)[0])
    assert status == 503 and int(headers["Retry-After"]) > 0 and seconds < 2
    first.close()


def test_an_external_live_mode_refuses_over_a_real_socket(served):
    app, base = served
    app.config["LIVE_MODE"] = "external"
    ws, a, b, owner, op_a = _world(None)
    status, headers, _ = _handshake(base, "/admin", _cookie(app, owner)[0])
    assert status == 503 and "Retry-After" in headers


def _heartbeat(socket, timeout=5):
    """The next heartbeat, past any page update (a page opened without ``since`` gets one)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = socket.receive(timeout=timeout)
        if message and STATE.match(message):
            return message
    raise AssertionError("no heartbeat")


def _closes(socket, timeout=5):
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            socket.receive(timeout=0.5)
            if not socket.connected:
                return True
    except ConnectionClosed:
        return True
    return False


def test_an_oversized_inbound_message_closes_the_socket(served):
    app, base = served
    ws, a, b, owner, op_a = _world(None)
    socket = _socket(base, _cookie(app, owner)[0], "/admin")
    assert STATE.match(socket.receive(timeout=5))
    socket.send("x" * app.config["LIVE_MAX_INBOUND_BYTES"])  # at the limit: kept
    assert _heartbeat(socket) and _heartbeat(socket)

    socket.send("x" * (app.config["LIVE_MAX_INBOUND_BYTES"] + 1))

    assert _closes(socket)
    _until_empty(app)


def test_a_flood_of_small_messages_closes_the_socket(served):
    app, base = served
    ws, a, b, owner, op_a = _world(None)
    socket = _socket(base, _cookie(app, owner)[0], "/admin")
    assert STATE.match(socket.receive(timeout=5))
    sent = 0
    try:
        for _ in range(100):
            socket.send("hi")
            sent += 1
    except ConnectionClosed:  # the server may close it before the flood is over
        assert sent > 20
    assert _closes(socket)
    _until_empty(app)


def _until_empty(app, timeout=5):
    deadline = time.monotonic() + timeout
    while len(get_live(app).registry):
        assert time.monotonic() < deadline, "the closed socket is still registered"
        time.sleep(0.02)


DAY = 24 * 3600


@pytest.mark.parametrize("how", ["sign-out", "sign-out-everywhere", "idle", "lifetime"])
def test_each_way_a_session_ends_closes_its_open_page_within_5_s(served, clock, how):
    """With the keeper's default re-check interval, whichever way the session ends (the
    browser signs out, the CLI signs its user out everywhere, the idle timeout or the
    absolute lifetime passes), its open page is told and closed within 5 s."""
    app, base = served
    assert get_live(app).dispatcher.scope_ttl == 3.0  # the default, not forced to 0
    idle, lifetime = (600, 30 * DAY) if how == "idle" else (30 * DAY, 3600)
    app.config.update(SESSION_IDLE_SECONDS=idle, SESSION_MAX_SECONDS=lifetime)
    ws, a, b, owner, op_a = _world(clock)
    cookie, sid = _cookie(app, owner)
    socket = _socket(base, cookie, "/admin")
    assert STATE.match(socket.receive(timeout=5))
    time.sleep(0.2 if how == "idle" else 3.2)  # a re-check has passed: any phase of the next
    if how == "sign-out":
        browser = app.test_client()
        browser.set_cookie("session", cookie)
        assert browser.post("/logout").status_code == 302
    elif how == "sign-out-everywhere":
        result = app.test_cli_runner().invoke(args=["users", "sign-out-everywhere", owner.email])
        assert result.exit_code == 0, result.output
    else:
        clock.advance((idle if how == "idle" else lifetime) + 1)
    started = time.monotonic()
    while True:
        assert time.monotonic() - started <= 5, f"the page outlived its session ({how})"
        message = socket.receive(timeout=1)
        if message and message.startswith("revoked "):
            break
    assert _closes(socket)
    assert _handshake(base, "/admin", cookie)[0] == 401


def test_an_open_page_one_second_before_the_lifetime_stays_open(served, clock):
    app, base = served
    app.config.update(SESSION_IDLE_SECONDS=30 * DAY, SESSION_MAX_SECONDS=3600)
    ws, a, b, owner, op_a = _world(clock)
    cookie, sid = _cookie(app, owner)
    socket = _socket(base, cookie, "/admin")
    assert STATE.match(socket.receive(timeout=5))
    clock.advance(3599)
    ended = time.monotonic() + 4.5  # more than one re-check at the default interval
    while time.monotonic() < ended:
        message = socket.receive(timeout=0.5)
        assert not (message or "").startswith("revoked "), "ended a second early"


def test_an_ended_session_ends_its_open_pages(served, clock):
    app, base = served
    get_live(app).dispatcher.scope_ttl = 0
    ws, a, b, owner, op_a = _world(clock)
    cookie, sid = _cookie(app, owner)
    socket = _socket(base, cookie, "/admin")
    assert STATE.match(socket.receive(timeout=5))

    end_session(sid, clock.now())

    deadline = time.monotonic() + 5
    while True:
        assert time.monotonic() < deadline, "the socket outlived its session"
        message = socket.receive(timeout=5)
        if message and message.startswith("revoked "):
            break
    assert _closes(socket)
    assert _handshake(base, "/admin", cookie)[0] == 401
