"""The duration order, page by page both ways: longest first, ties by id, queued runs last,
running runs by their duration so far; the page's rows are read whole after ranking."""

from datetime import timedelta

import pytest

from app.extensions import db as database
from app.models import OperationRun
from app.operations import freshness as fr
from app.operations import get_policy
from app.operations.queries import RunFilters
from app.operations.reads import RunReads
from app.operations.visibility import scope_for_user
from tests.conftest import T0
from tests.factories import make_member, make_run, make_tenant, make_user, make_workspace


@pytest.fixture
def world(db):
    ws, other = make_workspace(), make_workspace()
    tenant = make_tenant(ws)
    owner = make_user()
    make_member(owner, ws, "owner")
    durations = {}
    for n, took in enumerate([30, 600, 600, 600, 5, 7200, 1, 1, 90, 3599, 3600, 3601]):
        outcome = "failed" if n % 3 == 0 else "succeeded"
        run = make_run(
            ws, tenant, now=T0, status="completed", outcome=outcome, age=took + n, completed_ago=n
        )
        run.initiator = "nightly" if n % 2 else "alice"
        durations[run.id] = float(took)
    for age in (45, 4000):  # running: their duration so far
        durations[make_run(ws, None, now=T0, age=age).id] = float(age)
    for _ in range(2):  # queued: no duration yet, last
        durations[make_run(ws, None, now=T0, status="queued", age=10).id] = -1.0
    make_run(other, None, now=T0, status="completed", age=99999, completed_ago=0)  # not ours
    database.session.commit()
    return RunReads(scope_for_user(owner, ws.id), get_policy(), T0), durations


def expected(durations, keep=None):
    ids = [i for i in durations if keep is None or i in keep]
    return sorted(ids, key=lambda i: (durations[i], i), reverse=True)


def every_page(reads, limit, **options):
    """The ids of every page after the first, then back again through ``before``."""
    page = reads.page(sort="duration", limit=limit, **options)
    forward, pages = [r.id for r in page.runs], [page]
    while page.next_cursor:
        page = reads.page(sort="duration", limit=limit, cursor=page.next_cursor, **options)
        forward += [r.id for r in page.runs]
        pages.append(page)
    backward = [r.id for r in page.runs]
    while page.prev_cursor:
        page = reads.page(sort="duration", limit=limit, before=page.prev_cursor, **options)
        backward = [r.id for r in page.runs] + backward
    return forward, backward, pages


@pytest.mark.parametrize("limit", [1, 3, 50])
def test_pages_in_duration_order_both_ways(world, limit):
    reads, durations = world
    forward, backward, pages = every_page(reads, limit)
    assert forward == expected(durations) == backward
    assert all(len(p.runs) <= limit for p in pages)
    first = pages[0].runs[0]
    assert first.initiator is not None and first.tenant_name  # whole rows, with the tenant


def test_duration_order_under_a_tab_and_a_search(world):
    reads, durations = world
    follow_ups = {r.id for r in reads.page(tab=fr.TERMINAL_FOLLOW_UP, limit=200).runs}
    forward, backward, _ = every_page(reads, 2, tab=fr.TERMINAL_FOLLOW_UP)
    assert forward == expected(durations, follow_ups) == backward and len(follow_ups) == 4
    alice = {r.id for r in reads.page(filters=RunFilters(text="ALICE"), limit=200).runs}
    forward, _, _ = every_page(reads, 2, filters=RunFilters(text="ALICE"))
    assert forward == expected(durations, alice) and len(alice) == 6


def test_a_running_run_is_ranked_by_its_duration_at_the_reads_instant(world):
    reads, durations = world
    later = RunReads(reads.scope, reads.policy, T0 + timedelta(seconds=3700))
    ranked = [r.id for r in later.page(sort="duration", limit=3).runs]
    running_45 = next(i for i, d in durations.items() if d == 45.0)
    running_4000 = next(i for i, d in durations.items() if d == 4000.0)
    # 45 + 3700 = 3745 s and 4000 + 3700 = 7700 s: the longer one now leads the 7200 s run.
    assert ranked[0] == running_4000
    assert ranked[2] == running_45


@pytest.mark.parametrize("edge", [-1, 0, 1])
def test_duration_order_over_a_range_from_an_instant(world, edge):
    """A range open at its end (``created_from`` only), at a run's creation instant and one
    second either side: that run is in the page exactly when it was created at or after it."""
    reads, durations = world
    boundary = next(i for i, d in durations.items() if d == 3599.0)
    since = database.session.get(OperationRun, boundary).created_at - timedelta(seconds=edge)
    filters = RunFilters(created_from=since)
    in_range = {r.id for r in reads.page(filters=filters, limit=200).runs}
    forward, backward, _ = every_page(reads, 2, filters=filters)
    assert forward == expected(durations, in_range) == backward
    assert (boundary in forward) is (edge >= 0)
    assert 0 < len(forward) < len(durations)


def test_a_range_from_an_instant_is_bounded_above_for_postgresqls_generic_plans():
    """The bound that lets a generic plan read the range by its index is on PostgreSQL's
    statement only, and only when the range has no end of its own."""
    from sqlalchemy.dialects import postgresql, sqlite

    from app.operations.plan_hints import generic_plan_bound

    bound = generic_plan_bound(OperationRun.created_at)
    assert str(bound.compile(dialect=postgresql.dialect())) == (
        "operation_runs.created_at < '9999-01-01'"
    )
    assert str(bound.compile(dialect=sqlite.dialect())) == "1 = 1"
