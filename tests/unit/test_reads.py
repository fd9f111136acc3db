"""The one read interface: every read returns the one run shape, through the one
visibility rule, at the instant the interface carries."""

import ast
import pathlib
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db as database
from app.operations import freshness as fr
from app.operations import lifecycle
from app.operations.queries import RunFilters
from app.operations.reads import RunRead, RunReads, SystemReads
from app.operations.reads.model import RUN_FIELDS
from app.operations.store import Report
from app.operations.visibility import scope_for_user
from tests.conftest import T0
from tests.factories import make_member, make_run, make_tenant, make_user, make_workspace

S = timedelta(seconds=1)
STALE = 30 * 60  # baseline_compare: running_stale
EXPECTED = 10 * 60  # baseline_compare: running_expected
HOSTILE_NAME = "O'Brien \"<b>\" ' OR '1'='1 — 測試 " + "x" * 150


@pytest.fixture
def world(db):
    ws, other_ws = make_workspace(), make_workspace()
    a = make_tenant(ws, slug="a", name=HOSTILE_NAME)
    b = make_tenant(ws, slug="b", name="Bravo")
    foreign = make_tenant(other_ws, slug="a", name="Foreign")
    owner, viewer = make_user(), make_user()
    make_member(owner, ws, "owner")
    make_member(viewer, ws, "viewer", tenants=[a])
    runs = {
        "a": make_run(ws, a, now=T0, age=60),
        "b": make_run(ws, b, now=T0, age=STALE + 60),
        "workspace": make_run(ws, None, now=T0, status="completed", outcome="failed"),
        "foreign": make_run(other_ws, foreign, now=T0, age=STALE + 60),
    }
    return ws, {"a": a, "b": b, "foreign": foreign}, {"owner": owner, "viewer": viewer}, runs


def reads(users, ws, role, now=T0, policy=None):
    from app.operations import get_policy

    return RunReads(scope_for_user(users[role], ws.id), policy or get_policy(), now)


def assert_read(run, tenant):
    assert isinstance(run, RunRead)
    assert run._fields == RUN_FIELDS + ("tenant_uuid", "tenant_slug", "tenant_name")
    if tenant is None:
        assert (run.tenant_id, run.tenant_uuid, run.tenant_name, run.tenant_slug) == (None,) * 4
    else:
        assert (run.tenant_id, run.tenant_uuid, run.tenant_slug, run.tenant_name) == (
            tenant.id,
            tenant.uuid,
            tenant.slug,
            tenant.name,
        )


def test_every_read_of_runs_returns_the_one_shape_with_its_tenant(world):
    ws, tenants, users, runs = world
    owner = reads(users, ws, "owner")
    by_id = {r.id: r for r in owner.page().runs}
    assert set(by_id) == {runs["a"].id, runs["b"].id, runs["workspace"].id}
    assert_read(by_id[runs["a"].id], tenants["a"])  # the hostile name comes back verbatim
    assert_read(by_id[runs["workspace"].id], None)
    for key, tenant in (("a", tenants["a"]), ("b", tenants["b"]), ("workspace", None)):
        assert_read(owner.run(runs[key].id), tenant)
    [overlaid] = owner.overlay(tenants["b"].id)
    assert_read(overlaid, tenants["b"])
    stale, follow_ups = owner.attention(tenants["b"].id)
    assert [r.id for r in stale] == [runs["b"].id] and follow_ups == []
    assert_read(stale[0], tenants["b"])


def test_every_write_returns_the_one_shape_as_a_read_then_finds_it(world):
    ws, tenants, users, runs = world
    owner = reads(users, ws, "owner", now=T0 + 10 * S)

    def same_as_read(written, tenant):
        assert_read(written, tenant)
        assert written == owner.run(written.id)

    for tenant in (tenants["a"], None):
        created = lifecycle.create_run(
            workspace_id=ws.id,
            tenant_id=tenant.id if tenant else None,
            type="sync",
            now=T0,
            actor="worker",
        )
        same_as_read(created, tenant)
        with pytest.raises(lifecycle.TransitionNotAllowed) as refused:
            lifecycle.heartbeat(created, now=T0, actor="worker")  # queued: not started
        assert not isinstance(refused.value, lifecycle.LateReport)
        same_as_read(refused.value.run, tenant)
        started = lifecycle.start_run(created, now=T0 + S, actor="worker")
        same_as_read(started, tenant)
        beat = lifecycle.heartbeat(started, now=T0 + 2 * S, actor="worker", processed=5)
        same_as_read(beat, tenant)
        done = lifecycle.complete_run(beat, outcome="succeeded", now=T0 + 3 * S, actor="worker")
        same_as_read(done, tenant)
        with pytest.raises(lifecycle.LateReport) as late:
            lifecycle.heartbeat(done, now=T0 + 4 * S, actor="worker")
        same_as_read(late.value.run, tenant)
    # A batch answers no run's columns: None for a report taken; the run then reads as
    # written, in the one shape.
    assert lifecycle.heartbeat_batch(
        [Report(runs["a"].id, 7, None, T0)], now=T0 + S, actor="worker"
    ) == [None]
    batched = owner.run(runs["a"].id)
    assert_read(batched, tenants["a"])
    assert batched.processed == 7


def test_reads_never_return_another_tenants_or_workspaces_runs(world):
    ws, tenants, users, runs = world
    viewer = reads(users, ws, "viewer")
    assert {r.id for r in viewer.page().runs} == {runs["a"].id, runs["workspace"].id}
    assert viewer.run(runs["b"].id) is None
    assert viewer.run(runs["foreign"].id) is None
    assert viewer.overlay(tenants["b"].id) == []
    assert viewer.attention(tenants["b"].id) == ([], [])
    assert viewer.likely_stale_total().value == 0
    assert viewer.activity_by_tenant().keys() <= {tenants["a"].id, None}
    assert viewer.visible_ids({r.id for r in runs.values()}) == {
        runs["a"].id,
        runs["workspace"].id,
    }
    assert viewer.last_reported([tenants["b"].id, tenants["foreign"].id]) == {}
    # The foreign tenant shares slug "a": the reads still name this workspace's tenant.
    owner = reads(users, ws, "owner")
    assert owner.run(runs["a"].id).tenant_name == HOSTILE_NAME


@pytest.mark.parametrize("offset, stale", [(-1, False), (0, False), (1, True)])
def test_the_instant_the_reads_carry_decides_freshness_at_the_threshold(world, offset, stale):
    """A rule trips strictly after its deadline: at it, and 1 s before, the run is not stale."""
    ws, tenants, users, runs = world
    started = runs["a"].started_at
    at = started + timedelta(seconds=STALE) + offset * S
    owner = reads(users, ws, "owner", now=at)
    ids = {r.id for r in owner.page(tab=fr.ACTIVE_STALE_ATTENTION).runs}
    assert (runs["a"].id in ids) is stale
    counted = owner.tab_counts(filters=RunFilters(tenant_id=tenants["a"].id))
    assert counted[fr.ACTIVE_STALE_ATTENTION].value == int(stale)
    assert owner.tenant_activity(tenants["a"].id).likely_stale == int(stale)
    [overlaid] = owner.overlay(tenants["a"].id)
    assert (fr.freshness(overlaid, owner.policy, at).state == fr.LIKELY_STALE) is stale


def test_upcoming_transitions_name_the_next_instant_and_its_runs(world):
    ws, tenants, users, runs = world
    owner = reads(users, ws, "owner")
    started = runs["a"].started_at
    expected_at = started + timedelta(seconds=EXPECTED) + fr.TICK
    assert owner.upcoming_transitions(tenant_id=tenants["a"].id) == {expected_at: [runs["a"].id]}
    assert owner.upcoming_transitions(run_id=runs["b"].id) == {}  # already stale
    assert reads(users, ws, "viewer").upcoming_transitions(tenant_id=tenants["b"].id) == {}


def test_system_reads_find_due_runs_exactly_at_their_reconcile_time(world, policy):
    ws, tenants, users, runs = world
    due_at = runs["b"].started_at + timedelta(seconds=STALE + 30 * 60)
    before = SystemReads(policy, due_at - S)
    assert before.due_batch(0, 10, False) == [] and not before.any_due()
    at = SystemReads(policy, due_at)  # now >= stale_since + grace: due at the instant
    due = [r.id for r in at.due_batch(0, 10, False)]
    assert due == sorted([runs["b"].id, runs["foreign"].id]) and at.any_due()
    assert [r.id for r in at.due_batch(due[0], 10, False)] == due[1:]
    assert [r.id for r in at.due_batch(0, 1, False)] == due[:1]


def test_reused_statements_serve_each_scope_its_own_values(world):
    """Statements are built once per shape; two viewers of one shape never share values."""
    ws, tenants, users, runs = world
    other = make_user()
    make_member(other, ws, "viewer", tenants=[tenants["b"]])
    seen = {
        role: {r.id for r in reads(users | {"other": other}, ws, role).page().runs}
        for role in ("viewer", "other")
    }
    assert seen["viewer"] == {runs["a"].id, runs["workspace"].id}
    assert seen["other"] == {runs["b"].id, runs["workspace"].id}


APP = pathlib.Path(__file__).resolve().parents[2]
READS = APP / "app" / "operations" / "reads"
# The write interface binds the instant of the reconciler's compare-and-set itself.
STORE = APP / "app" / "operations" / "store"
BIND_NAMES = (
    "scope_workspace_id",
    "scope_tenant_ids",
    "cutoff_",
    "filter_tenant_id",
    "search_id",
    "search_pattern",
    "search_phrase",
    "created_from",
    "created_to",
    "sort_now",
    "cursor_key",
    "cursor_id",
)


def _sources():
    for root in ("app", "reconciler"):
        for path in sorted((APP / root).rglob("*.py")):
            rel = path.relative_to(APP).as_posix()
            if READS not in path.parents and STORE not in path.parents:
                yield rel, path.read_text()


def _docstrings(tree):
    """The docstring nodes of a module's tree (prose may name a parameter)."""
    owners = [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef))]
    return [
        owner.body[0].value
        for owner in owners
        if owner.body
        and isinstance(owner.body[0], ast.Expr)
        and isinstance(owner.body[0].value, ast.Constant)
    ]


def test_no_module_outside_the_read_interface_names_its_parameters():
    offenders = []
    for rel, text in _sources():
        if rel == "app/operations/freshness/sql.py":
            continue  # the truth's own cutoffs, bound only by the read interface
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if node not in _docstrings(tree) and any(n in node.value for n in BIND_NAMES):
                    offenders.append((rel, node.value))
            if isinstance(node, ast.Attribute) and node.attr == "instant":
                offenders.append((rel, "instant"))
    assert offenders == []


def test_no_module_outside_the_read_interface_selects_whole_runs():
    offenders = []
    for rel, text in _sources():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "select":
                for arg in node.args:
                    name = ast.unparse(arg)
                    if name in ("OperationRun", "OperationRun.__table__", "RUNS", "runs"):
                        offenders.append((rel, node.lineno))
    assert offenders == []


def test_a_statement_without_the_instant_cannot_run(world, policy):
    from app.operations.reads.lists import stale_total_query

    query = stale_total_query(policy, "all tenants", 9)
    with pytest.raises(sa.exc.StatementError, match="cutoff_"):
        database.session.execute(query, {"scope_workspace_id": world[0].id})
