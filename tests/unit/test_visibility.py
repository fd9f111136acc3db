"""Who sees which tenants, runs and counts: owner, operator, viewer, outsiders."""

import pytest
import sqlalchemy as sa

from app.models import OperationRun, Workspace
from app.operations import get_policy
from app.operations.reads import RunReads
from app.operations.visibility import (
    scope_for_token,
    scope_for_user,
    scopes_of_members,
    workspaces_for_user,
)
from tests.conftest import T0
from tests.factories import make_member, make_run, make_tenant, make_user, make_workspace


@pytest.fixture
def world(db):
    ws, other_ws = make_workspace(name="Acme"), make_workspace(name="Globex")
    a, b, c = (make_tenant(ws, slug=slug) for slug in ("a", "b", "c"))
    foreign = make_tenant(other_ws, slug="foreign")
    users = {role: make_user() for role in ("owner", "operator", "viewer", "outsider", "nobody")}
    make_member(users["owner"], ws, "owner")
    make_member(users["operator"], ws, "operator", tenants=[a, b])
    make_member(users["viewer"], ws, "viewer", tenants=[b])
    make_member(users["outsider"], other_ws, "owner")
    runs = {
        "a": make_run(ws, a, now=T0),
        "b": make_run(ws, b, now=T0, age=99999),
        "c": make_run(ws, c, now=T0, age=99999),
        "workspace": make_run(ws, None, now=T0, status="completed", outcome="failed"),
        "foreign": make_run(other_ws, foreign, now=T0),
        "foreign_ws": make_run(other_ws, None, now=T0),
    }
    return ws, {"a": a, "b": b, "c": c, "foreign": foreign}, users, runs


def visible(scope, db):
    runs = RunReads(scope, get_policy(), T0).page(limit=200).runs
    tenants = scope.tenant_rows()
    return {run.id for run in runs}, {tenant.slug for tenant in tenants}


@pytest.mark.parametrize(
    "role, tenant_slugs, run_keys",
    [
        ("owner", {"a", "b", "c"}, {"a", "b", "c", "workspace"}),
        ("operator", {"a", "b"}, {"a", "b", "workspace"}),
        ("viewer", {"b"}, {"b", "workspace"}),
    ],
)
def test_members_see_their_tenants_and_workspace_level_runs(
    world, db, role, tenant_slugs, run_keys
):
    ws, tenants, users, runs = world
    scope = scope_for_user(users[role], ws.id)
    run_ids, slugs = visible(scope, db)
    assert slugs == tenant_slugs
    assert run_ids == {runs[key].id for key in run_keys}
    reads = RunReads(scope, get_policy(), T0)
    for key, run in runs.items():
        assert (reads.run(run.id) is not None) == (key in run_keys)
    assert set(reads.to_check([run.id for run in runs.values()])) == {
        runs[key].id for key in run_keys
    }


@pytest.mark.parametrize("role", ["outsider", "nobody"])
def test_non_members_get_no_scope(world, role):
    ws, _, users, _ = world
    assert scope_for_user(users[role], ws.id) is None


def test_no_scope_without_a_user_or_workspace(world):
    ws, _, users, _ = world
    assert scope_for_user(None, ws.id) is None
    assert scope_for_user(users["owner"], None) is None


def test_hidden_tenants_are_not_found_by_any_reference(world):
    ws, tenants, users, _ = world
    scope = scope_for_user(users["viewer"], ws.id)
    for key in ("a", "c", "foreign"):
        tenant = tenants[key]
        assert scope.tenant_by_uuid(tenant.uuid) is None
        assert scope.tenant_by_id(tenant.id) is None
        assert scope.tenant_by_ref(tenant.slug) is None
        assert scope.tenant_by_ref(tenant.uuid) is None
    [row] = scope.tenant_rows()
    assert row.id == tenants["b"].id
    # One tenant shape: every lookup answers the plain row ``tenant_rows`` answers.
    assert scope.tenant_by_uuid(tenants["b"].uuid) == row
    assert scope.tenant_by_ref("b") == row
    assert scope.tenant_by_ref(tenants["b"].uuid) == row
    assert scope.tenant_by_id(tenants["b"].id) == row
    assert scope.tenant_by_id(2**31 - 1) is None
    assert scope.tenant_by_ref("b' OR '1'='1") is None
    owner_scope = scope_for_user(users["owner"], ws.id)
    assert owner_scope.tenant_by_uuid(tenants["foreign"].uuid) is None
    assert owner_scope.tenant_by_id(tenants["foreign"].id) is None


def test_a_grant_on_another_workspaces_tenant_opens_nothing(world, db):
    ws, tenants, users, runs = world
    make_member(users["nobody"], ws, "viewer", tenants=[tenants["foreign"]])
    scope = scope_for_user(users["nobody"], ws.id)
    assert visible(scope, db) == ({runs["workspace"].id}, set())
    reads = RunReads(scope, get_policy(), T0)
    assert reads.run(runs["foreign"].id) is None
    assert reads.to_check([runs["foreign"].id, runs["workspace"].id]).keys() == {
        runs["workspace"].id
    }


def test_counts_exclude_hidden_tenants(world, policy):
    ws, _, users, runs = world
    expected = {
        "owner": {"all": 4, "active": 3, "active_stale_attention": 2, "terminal_follow_up": 1},
        "operator": {"all": 3, "active": 2, "active_stale_attention": 1, "terminal_follow_up": 1},
        "viewer": {"all": 2, "active": 1, "active_stale_attention": 1, "terminal_follow_up": 1},
    }
    for role, counts in expected.items():
        scope = scope_for_user(users[role], ws.id)
        got = RunReads(scope, policy, T0).tab_counts()
        assert {tab: count.value for tab, count in got.items()} == counts, role
        page = RunReads(scope, policy, T0).page(limit=50)
        assert len(page.runs) == counts["all"]


def test_a_token_sees_its_whole_workspace_only(world, db):
    ws, _, _, runs = world
    scope = scope_for_token(type("Token", (), {"workspace_id": ws.id})())
    run_ids, slugs = visible(scope, db)
    assert slugs == {"a", "b", "c"}
    assert run_ids == {runs[key].id for key in ("a", "b", "c", "workspace")}
    total = db.session.scalar(sa.select(sa.func.count()).select_from(OperationRun))
    assert total == 6


def test_workspaces_for_user_lists_memberships_only(world):
    ws, _, users, _ = world
    assert [(w.id, role) for w, role in workspaces_for_user(users["viewer"])] == [(ws.id, "viewer")]
    assert workspaces_for_user(users["nobody"]) == []


def _statements(db):
    seen = []

    def note(conn, cursor, statement, *args):
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", note)
    return seen, lambda: sa.event.remove(db.engine, "before_cursor_execute", note)


def test_scopes_of_members_answer_as_scope_for_user_in_two_statements(world, db):
    ws, tenants, users, _ = world
    other_ws = tenants["foreign"].workspace_id
    make_member(users["nobody"], ws, "viewer", tenants=[tenants["foreign"], tenants["c"]])
    make_member(
        users["operator"], db.session.get(Workspace, other_ws), "viewer", [tenants["foreign"]]
    )
    pairs = {(user.id, space) for user in users.values() for space in (ws.id, other_ws)}
    expected = {
        (user.id, space): scope_for_user(user, space)
        for user in users.values()
        for space in (ws.id, other_ws)
    }
    db.session.expire_all()
    seen, stop = _statements(db)
    try:
        scopes = scopes_of_members(pairs)
    finally:
        stop()
    assert scopes == {pair: scope for pair, scope in expected.items() if scope is not None}
    assert scopes[(users["nobody"].id, ws.id)].tenant_ids == {tenants["c"].id}, "no foreign grant"
    assert scopes[(users["operator"].id, other_ws)].tenant_ids == {tenants["foreign"].id}
    assert (users["outsider"].id, ws.id) not in scopes
    assert len(seen) == 2


def test_scopes_of_members_leave_out_inactive_users_and_unasked_pairs(world, db):
    ws, tenants, users, _ = world
    users["viewer"].active = False
    db.session.commit()
    other_ws = tenants["foreign"].workspace_id
    scopes = scopes_of_members({(users["viewer"].id, ws.id), (users["owner"].id, ws.id)})
    assert set(scopes) == {(users["owner"].id, ws.id)}
    assert scopes[(users["owner"].id, ws.id)].tenant_ids is None
    assert scopes_of_members({(users["outsider"].id, ws.id), (users["owner"].id, other_ws)}) == {}
    assert scopes_of_members(set()) == {}
