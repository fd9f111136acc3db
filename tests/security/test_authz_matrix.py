"""Authorization matrix: every route of the app x every kind of caller, with the status owed.

Anonymous page requests go to sign-in (302 with ``next``); API requests without a valid
token get 401 JSON, session cookies included; anything outside a caller's entitlement is 404,
never 403, and no denied answer carries another tenant's data or writes anything.
"""

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.security.conftest import MATRIX_CELLS, db_state, send, sign_in_as

PRINCIPALS = (
    "anonymous",
    "no_membership",  # signed in, member of no workspace
    "other_workspace_owner",  # signed in, not a member of ws (owner of another workspace)
    "viewer_other_tenant",  # viewer of ws, granted tenant b only
    "viewer",  # viewer of ws, granted tenant a
    "operator",  # operator of ws, granted tenant a
    "owner",  # owner of ws
    "token_other_workspace",  # API token of another workspace
    "token",  # API token of ws (last: it may write)
)
NOT_ENTITLED_TO_A = {
    "anonymous",
    "no_membership",
    "other_workspace_owner",
    "viewer_other_tenant",
    "token_other_workspace",
}

LOGIN = "login"  # 302 to /login?next=<the requested path>
CHOOSE = "choose"  # 302 to /admin/workspaces (signed in, no workspace to show)
HOME = "home"  # 302 to /admin
SIGNED_OUT = "signed_out"  # 302 to /login
REDIRECTS = {CHOOSE: "/admin/workspaces", HOME: "/admin", SIGNED_OUT: "/login"}


def row(*expected):
    """Expected answers in PRINCIPALS order."""
    assert len(expected) == len(PRINCIPALS)
    return dict(zip(PRINCIPALS, expected, strict=True))


@dataclass(frozen=True)
class Case:
    endpoint: str
    method: str
    path: object  # world -> path
    expected: dict
    json: object = None  # world -> JSON body (API writes)
    form: dict | None = None
    writes: tuple = ()  # principals whose request may write (besides the API token)


API = 401  # API without a valid token
# Each row: anonymous, no_membership, other_workspace_owner, viewer_other_tenant, viewer,
# operator, owner, token_other_workspace, token.
CASES = (
    Case(
        "auth.login",
        "GET",
        lambda w: "/login",
        row(200, HOME, HOME, HOME, HOME, HOME, HOME, 200, 200),
    ),
    Case(
        "auth.login",
        "POST",
        lambda w: "/login",
        row(422, HOME, HOME, HOME, HOME, HOME, HOME, 422, 422),
        form={"email": "nobody@example.test", "password": "wrong-password"},
    ),
    Case("auth.logout", "POST", lambda w: "/logout", row(*[SIGNED_OUT] * 9)),
    Case(
        "workspace.overview",
        "GET",
        lambda w: "/admin",
        row(LOGIN, CHOOSE, 200, 200, 200, 200, 200, LOGIN, LOGIN),
    ),
    Case(
        "workspace.workspaces",
        "GET",
        lambda w: "/admin/workspaces",
        row(LOGIN, 200, 200, 200, 200, 200, 200, LOGIN, LOGIN),
    ),
    Case(
        "workspace.select",
        "POST",
        lambda w: f"/admin/workspaces/{w.ws.id}/select",
        row(LOGIN, 404, 404, 303, 303, 303, 303, LOGIN, LOGIN),
    ),
    Case(
        "tenant.dashboard",
        "GET",
        lambda w: f"/admin/t/{w.a.uuid}",
        row(LOGIN, CHOOSE, 404, 404, 200, 200, 200, LOGIN, LOGIN),
    ),
    Case(
        "tenant.dashboard",
        "GET",
        lambda w: f"/admin/t/{w.c.uuid}",
        row(LOGIN, CHOOSE, 200, 404, 404, 404, 404, LOGIN, LOGIN),
    ),
    Case(
        "tenant.active_operations",
        "GET",
        lambda w: f"/admin/t/{w.a.uuid}/active-operations",
        row(LOGIN, CHOOSE, 404, 404, 200, 200, 200, LOGIN, LOGIN),
    ),
    Case(
        "monitoring.operations",
        "GET",
        lambda w: "/admin/operations",
        row(LOGIN, CHOOSE, 200, 200, 200, 200, 200, LOGIN, LOGIN),
    ),
    Case(
        "monitoring.operations",
        "GET",
        lambda w: f"/admin/operations?tenant_id={w.a.id}",
        row(LOGIN, CHOOSE, 404, 404, 200, 200, 200, LOGIN, LOGIN),
    ),
    Case(
        "monitoring.run_detail",
        "GET",
        lambda w: f"/admin/operations/{w.runs.running.id}",
        row(LOGIN, CHOOSE, 404, 404, 200, 200, 200, LOGIN, LOGIN),
    ),
    Case(
        "monitoring.run_detail",
        "GET",
        lambda w: f"/admin/operations/{w.runs.workspace_level.id}",
        row(LOGIN, CHOOSE, 404, 200, 200, 200, 200, LOGIN, LOGIN),
    ),
    Case(
        "monitoring.run_detail",
        "GET",
        lambda w: f"/admin/operations/{w.runs.other.id}",
        row(LOGIN, CHOOSE, 200, 404, 404, 404, 404, LOGIN, LOGIN),
    ),
    Case(
        "monitoring.reconciler",
        "GET",
        lambda w: "/admin/reconciler",
        row(LOGIN, CHOOSE, 200, 200, 200, 200, 200, LOGIN, LOGIN),
    ),
    # Insights: owners and operators, each over their own scope; viewers get 404.
    Case(
        "monitoring.insights",
        "GET",
        lambda w: "/admin/insights",
        row(LOGIN, CHOOSE, 200, 404, 404, 200, 200, LOGIN, LOGIN),
    ),
    Case(
        "monitoring.insights",
        "GET",
        lambda w: f"/admin/insights?tenant_id={w.a.id}&window=7d",
        row(LOGIN, CHOOSE, 404, 404, 404, 200, 200, LOGIN, LOGIN),
    ),
    # a plain GET is not a WebSocket upgrade; the socket's own refusals are in tests/live
    Case("live_stream", "GET", lambda w: "/live/stream?page=/admin", row(*[400] * 9)),
    # Notifications: owners of the current workspace only; a channel or mute of another
    # workspace is 404 (the other workspace's owner sees their own workspace's pages).
    Case(
        "notifications.channels",
        "GET",
        lambda w: "/admin/notifications",
        row(LOGIN, CHOOSE, 200, 404, 404, 404, 200, LOGIN, LOGIN),
    ),
    Case(
        "notifications.new_channel",
        "GET",
        lambda w: "/admin/notifications/new",
        row(LOGIN, CHOOSE, 200, 404, 404, 404, 200, LOGIN, LOGIN),
    ),
    Case(
        "notifications.new_channel",
        "POST",
        lambda w: "/admin/notifications/new",
        row(LOGIN, CHOOSE, 422, 404, 404, 404, 422, LOGIN, LOGIN),
        form={"name": "", "kind": "webhook", "target": "ftp://x", "tenant_choice": "all"},
    ),
    Case(
        "notifications.edit_channel",
        "GET",
        lambda w: f"/admin/notifications/{w.notify.channel.id}/edit",
        row(LOGIN, CHOOSE, 404, 404, 404, 404, 200, LOGIN, LOGIN),
    ),
    Case(
        "notifications.edit_channel",
        "POST",
        lambda w: f"/admin/notifications/{w.notify.channel.id}/edit",
        row(LOGIN, CHOOSE, 404, 404, 404, 404, 422, LOGIN, LOGIN),
        form={"name": "", "target": "", "tenant_choice": "all"},
    ),
    Case(
        "notifications.disable_channel",
        "POST",
        lambda w: f"/admin/notifications/{w.notify.channel.id}/disable",
        row(LOGIN, CHOOSE, 404, 404, 404, 404, 303, LOGIN, LOGIN),
    ),
    Case(
        "notifications.enable_channel",
        "POST",
        lambda w: f"/admin/notifications/{w.notify.channel.id}/enable",
        row(LOGIN, CHOOSE, 404, 404, 404, 404, 303, LOGIN, LOGIN),
    ),
    Case(
        "notifications.test_channel",
        "POST",
        lambda w: f"/admin/notifications/{w.notify.channel.id}/test",
        row(LOGIN, CHOOSE, 404, 404, 404, 404, 303, LOGIN, LOGIN),
        writes=("owner",),  # the test message and its attempt are recorded
    ),
    Case(
        "notifications.delivery_log",
        "GET",
        lambda w: f"/admin/notifications/{w.notify.channel.id}/log",
        row(LOGIN, CHOOSE, 404, 404, 404, 404, 200, LOGIN, LOGIN),
    ),
    Case(
        "notifications.add_mute",
        "POST",
        lambda w: "/admin/notifications/mutes",
        row(LOGIN, CHOOSE, 422, 404, 404, 404, 422, LOGIN, LOGIN),
        form={"tenant": "999999", "until": "2000-01-01T00:00"},
    ),
    Case(
        "notifications.end_mute",
        "POST",
        lambda w: f"/admin/notifications/mutes/{w.notify.mute.id}/end",
        row(LOGIN, CHOOSE, 404, 404, 404, 404, 303, LOGIN, LOGIN),
    ),
    Case("monitoring.healthz", "GET", lambda w: "/healthz", row(*[200] * 9)),
    Case("monitoring.readyz", "GET", lambda w: "/readyz", row(*[200] * 9)),
    Case("monitoring.metrics", "GET", lambda w: "/metrics", row(*[200] * 9)),
    Case("api.list_all_runs", "GET", lambda w: "/api/v1/runs", row(*[API] * 7, 200, 200)),
    Case(
        "api.list_all_runs",
        "GET",
        lambda w: f"/api/v1/runs?tenant={w.a.uuid}",
        row(*[API] * 7, 404, 200),
    ),
    Case(
        "api.get_run",
        "GET",
        lambda w: f"/api/v1/runs/{w.runs.running.id}",
        row(*[API] * 7, 404, 200),
    ),
    Case(
        "api.create_run",
        "POST",
        lambda w: "/api/v1/runs",
        row(*[API] * 7, 404, 201),
        json=lambda w: {"type": "inventory_sync", "tenant": w.a.uuid},
    ),
    Case(
        "api.start_run",
        "POST",
        lambda w: f"/api/v1/runs/{w.runs.queued.id}/start",
        row(*[API] * 7, 404, 200),
        json=lambda w: {},
    ),
    Case(
        "api.heartbeat",
        "POST",
        lambda w: f"/api/v1/runs/{w.runs.running.id}/heartbeat",
        row(*[API] * 7, 404, 200),
        json=lambda w: {"processed": 11},
    ),
    Case(
        "api.complete_run",
        "POST",
        lambda w: f"/api/v1/runs/{w.runs.running.id}/complete",
        row(*[API] * 7, 404, 200),
        json=lambda w: {"outcome": "failed", "message": "boom"},
    ),
    Case(
        "api.heartbeats",
        "POST",
        lambda w: "/api/v1/heartbeats",
        row(*[API] * 7, 200, 200),  # another workspace's token: 200 with a 404 per item
        json=lambda w: {"items": [{"run_id": w.runs.running.id, "processed": 11}]},
    ),
    # The API's description is public: it names no run, tenant or workspace.
    Case("api.openapi", "GET", lambda w: "/api/v1/openapi.json", row(*[200] * 9)),
)


def test_the_matrix_covers_every_route(app):
    routes = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    covered = {(case.endpoint, case.method) for case in CASES}
    assert routes - covered == set(), "routes missing from the authorization matrix"
    assert covered - routes == set(), "matrix rows for routes that no longer exist"


def caller(app, world, principal):
    """A test client and headers acting as ``principal``."""
    client = app.test_client()
    user = getattr(world.users, principal, None)
    if user is not None:
        sign_in_as(client, user)
    secret = {"token": world.tokens.own, "token_other_workspace": world.tokens.other}
    headers = {"Authorization": f"Bearer {secret[principal]}"} if principal in secret else {}
    return client, headers


def check_redirect(response, expected, path):
    location = response.headers["Location"]
    if expected == LOGIN:
        parts = urlsplit(location)
        assert parts.path == "/login" and not parts.netloc, location
        assert parse_qs(parts.query)["next"] == [path], location
    else:
        assert location == REDIRECTS[expected], location


def check_no_leak(response, world, principal, path):
    """A caller not entitled to tenant a never sees its name, uuid (unless the caller sent
    it) or runs."""
    if principal not in NOT_ENTITLED_TO_A:
        return
    body = response.get_data(as_text=True)
    assert world.a.name not in body, principal
    assert world.a.uuid in path or world.a.uuid not in body, principal
    hidden = {run.id for run in (world.runs.queued, world.runs.running, world.runs.completed)}
    if response.mimetype == "application/json":
        data = response.get_json()
        shown = {run["id"] for run in data.get("runs", [])} | {data.get("id")}
        assert not hidden & shown, principal
    else:
        leaked = [run_id for run_id in hidden if f'data-run-id="{run_id}"' in body]
        assert not leaked, principal


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{n:02d}-{case.method}-{case.endpoint}" for n, case in enumerate(CASES)]
)
def test_route_answers_each_principal(app, db, world, backend, case):
    path = case.path(world)
    for principal in PRINCIPALS:
        expected = case.expected[principal]
        client, headers = caller(app, world, principal)
        kwargs = {"headers": headers}
        if case.json is not None:
            kwargs["json"] = case.json(world)
        if case.form is not None:
            kwargs["data"] = case.form
        before = db_state(db)
        response = send(app, client, case.method, path, **kwargs)
        MATRIX_CELLS[backend] += 1
        got = (principal, case.method, path, response.status_code)
        assert response.status_code != 403, got
        if isinstance(expected, str):
            assert response.status_code in (302, 303), (got, expected)
            check_redirect(response, expected, path)
        else:
            assert response.status_code == expected, (got, response.get_data(as_text=True)[:200])
        if path.startswith("/api/") and response.status_code >= 400:
            error = response.get_json()["error"]
            assert error["message"], got
            if expected == API:
                assert error["code"] == "token_missing" and "WWW-Authenticate" in response.headers
        if (principal == "token" and case.json is not None) or principal in case.writes:
            assert db_state(db) != before, got  # the one allowed write happened
        else:
            assert db_state(db) == before, got
        check_no_leak(response, world, principal, path + str(kwargs.get("json")))
