"""Keyset pages, tabs and capped counts over visible runs."""

import pytest

from app.operations import freshness as fr
from app.operations.queries import InvalidQuery, RunFilters
from app.operations.reads import RunReads
from app.operations.visibility import scope_for_user
from tests.conftest import T0
from tests.factories import make_member, make_run, make_tenant, make_user, make_workspace


@pytest.fixture
def world(db):
    ws = make_workspace()
    a, b = make_tenant(ws), make_tenant(ws)
    owner, viewer = make_user(), make_user()
    make_member(owner, ws, "owner")
    make_member(viewer, ws, "viewer", tenants=[a])
    runs = [make_run(ws, a if i % 2 else b, now=T0, age=60 + i) for i in range(7)]
    stale = make_run(ws, a, now=T0, age=99999)
    failed = make_run(ws, None, now=T0, status="completed", outcome="failed")
    return ws, a, b, owner, viewer, runs, stale, failed


def test_keyset_pages_walk_every_run_once_newest_first(world, policy):
    ws, *_, owner, viewer, runs, stale, failed = world
    scope = scope_for_user(owner, ws.id)
    seen, cursor = [], None
    while True:
        page = RunReads(scope, policy, T0).page(cursor=cursor, limit=3)
        seen += page.runs
        cursor = page.next_cursor
        if cursor is None:
            break
    assert [r.created_at for r in seen] == sorted((r.created_at for r in seen), reverse=True)
    assert {r.id for r in seen} == {r.id for r in runs + [stale, failed]}
    assert len(seen) == 9


def test_tab_counts_follow_visibility(world, policy):
    ws, a, b, owner, viewer, runs, stale, failed = world
    owner_counts = RunReads(scope_for_user(owner, ws.id), policy, T0).tab_counts()
    viewer_counts = RunReads(scope_for_user(viewer, ws.id), policy, T0).tab_counts()
    assert {k: c.value for k, c in owner_counts.items()} == {
        "all": 9,
        "active": 8,
        fr.ACTIVE_STALE_ATTENTION: 1,
        fr.TERMINAL_FOLLOW_UP: 1,
    }
    # viewer: tenant a has runs 1,3,5 + stale; the workspace-level failed run is visible too
    assert {k: c.value for k, c in viewer_counts.items()} == {
        "all": 5,
        "active": 4,
        fr.ACTIVE_STALE_ATTENTION: 1,
        fr.TERMINAL_FOLLOW_UP: 1,
    }


def test_counts_cap(world, policy):
    ws, *_, owner, _viewer, _runs, _stale, _failed = world
    counts = RunReads(scope_for_user(owner, ws.id), policy, T0).tab_counts(cap=5)
    assert counts["all"].value == 5 and counts["all"].capped
    assert counts[fr.ACTIVE_STALE_ATTENTION].capped is False


def test_counts_cap_boundary(world, policy):
    """Nine visible runs: a cap of nine is exact, a cap of eight shows "8+"."""
    ws, *_, owner, _viewer, _runs, _stale, _failed = world
    scope = scope_for_user(owner, ws.id)
    at_cap = RunReads(scope, policy, T0).tab_counts(cap=9)["all"]
    below = RunReads(scope, policy, T0).tab_counts(cap=8)["all"]
    assert (at_cap.value, at_cap.capped) == (9, False)
    assert (below.value, below.capped) == (8, True)


@pytest.mark.parametrize(
    ("cap", "expected"),
    [(6, (5, False)), (5, (5, False)), (4, (4, True)), (3, (3, True)), (1, (1, True))],
)
def test_the_all_count_of_some_tenants_adds_its_parts_exactly_at_the_cap(
    world, policy, cap, expected
):
    """The viewer sees four runs of tenant a and one workspace-level run, counted apart:
    the sum is exact up to the cap and capped beyond it, whichever part passes it."""
    ws, a, b, owner, viewer, *_ = world
    elsewhere = make_workspace()
    make_run(elsewhere, None, now=T0, age=5)  # another workspace's workspace-level run
    make_run(elsewhere, make_tenant(elsewhere), now=T0, age=5)
    counts = RunReads(scope_for_user(viewer, ws.id), policy, T0).tab_counts(cap=cap)
    assert (counts["all"].value, counts["all"].capped) == expected


def test_the_all_count_of_some_tenants_with_a_hidden_tenant_filter_is_zero(world, policy):
    ws, a, b, owner, viewer, *_ = world
    reads = RunReads(scope_for_user(viewer, ws.id), policy, T0)
    counts = reads.tab_counts(filters=RunFilters(tenant_id=b.id), cap=1)
    assert {tab: (c.value, c.capped) for tab, c in counts.items()} == dict.fromkeys(
        counts, (0, False)
    )
    mine = reads.tab_counts(filters=RunFilters(tenant_id=a.id), cap=3)
    assert (mine["all"].value, mine["all"].capped) == (3, True)


def test_bad_cursor_and_filters_are_refused(world, policy):
    ws, *_, owner, _v, _r, _s, _f = world
    scope = scope_for_user(owner, ws.id)
    with pytest.raises(InvalidQuery):
        RunReads(scope, policy, T0).page(cursor="not-a-cursor")
    with pytest.raises(InvalidQuery):
        RunReads(scope, policy, T0).page(tab="nope")
    with pytest.raises(InvalidQuery):
        RunReads(scope, policy, T0).page(filters=RunFilters(status="zombie"))


def test_statements_built_once_serve_each_scope_its_own_runs(world, policy):
    """One statement per shape is reused across scopes; the values are the caller's."""
    ws, a, b, owner, viewer, runs, stale, failed = world
    other = make_user()
    make_member(other, ws, "viewer", tenants=[b])
    other_ws = make_workspace()
    foreign = make_run(other_ws, make_tenant(other_ws), now=T0, age=30)
    make_member(owner, other_ws, "owner")

    def ids(user, workspace):
        page = RunReads(scope_for_user(user, workspace.id), policy, T0).page(limit=50)
        return {r.id for r in page.runs}

    assert ids(viewer, ws) == {r.id for r in runs if r.tenant_id == a.id} | {stale.id, failed.id}
    assert ids(other, ws) == {r.id for r in runs if r.tenant_id == b.id} | {failed.id}
    assert ids(owner, ws) == {r.id for r in runs} | {stale.id, failed.id}
    assert ids(owner, other_ws) == {foreign.id}
    counts = RunReads(scope_for_user(other, ws.id), policy, T0).tab_counts()
    assert counts["all"].value == len([r for r in runs if r.tenant_id == b.id]) + 1


def test_a_reused_statement_without_the_scopes_values_fails_loudly(world, policy):
    import sqlalchemy as sa

    from app.extensions import db
    from app.operations.reads.lists import filter_shape, page_query

    query = page_query(
        policy, "all tenants", "all", filter_shape(RunFilters()), "created", False, False, 51
    )
    with pytest.raises(sa.exc.StatementError, match="scope_workspace_id"):
        db.session.scalars(query, fr.instant(policy, T0)).all()


def test_a_status_outside_the_domain_never_reaches_the_sql(policy):
    from app.operations.reads.lists import filter_clauses

    with pytest.raises(InvalidQuery):
        filter_clauses((False, False, "x' OR '1'='1", None, None, False, False), policy)
