"""SQLite list statements read the index their order needs (SQLite keeps no planner figures
for partial indexes, so the statement's shape has to choose), and find the same runs."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db as _db
from app.operations import freshness as fr
from app.operations.queries import RunFilters
from app.operations.reads import RunReads
from app.operations.visibility import scope_for_user
from reconciler.maintenance import refresh_statistics
from tests.conftest import T0
from tests.factories import make_member, make_run, make_user, make_workspace


def executed(read):
    """(the result of ``read()``, [(statement, parameters)] it executed)."""
    seen = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    sa.event.listen(_db.engine, "before_cursor_execute", capture)
    try:
        result = read()
    finally:
        sa.event.remove(_db.engine, "before_cursor_execute", capture)
    return result, seen


def plan_of(statement, parameters):
    """EXPLAIN QUERY PLAN rows of ``statement``: (id, parent, detail)."""
    raw = _db.session.connection().connection.dbapi_connection
    rows = raw.execute(f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()
    return [(row[0], row[1], row[-1]) for row in rows]


def inner_page_plan(plan):
    """The plan lines of the page's own runs (the subquery the tenant is joined to)."""
    page = next(node for node, _, detail in plan if detail == "CO-ROUTINE page")
    return [detail for _, parent, detail in plan if parent == page]


def follow_up_world(policy):
    """An owner's reads over 400 older successes and follow-ups around the window's edge."""
    ws = make_workspace()
    owner = make_user()
    make_member(owner, ws, "owner")
    window = policy.follow_up_window
    for n in range(400):
        make_run(ws, now=T0, status="completed", age=window + 4000 + n, completed_ago=window + n)
    edge = [window - 1, window, window + 1]  # in, in (the window includes its start), out
    for n, completed_ago in enumerate([*edge, *range(10, 130, 10)]):
        make_run(
            ws,
            now=T0,
            status="completed",
            outcome="failed" if n % 2 else "partially_succeeded",
            age=completed_ago + 30 + 7 * n,
            completed_ago=completed_ago,
        )
    _db.session.commit()
    refresh_statistics(_db.engine)  # as the embedded reconciler leaves them
    return RunReads(scope_for_user(owner, ws.id), policy, T0)


@pytest.mark.parametrize("by", ["tab", "filter"])
def test_the_follow_up_list_reads_its_list_order_index_and_finds_the_window(sqlite_app, by):
    policy = sqlite_app.extensions["runwarden.policy"]
    reads = follow_up_world(policy)
    if by == "tab":
        read = lambda: reads.page(tab=fr.TERMINAL_FOLLOW_UP, limit=5)  # noqa: E731
    else:
        filters = RunFilters(problem_class=fr.TERMINAL_FOLLOW_UP)
        read = lambda: reads.page(filters=filters, limit=5)  # noqa: E731
    page, seen = executed(read)
    statement, parameters = next((s, p) for s, p in seen if " AS page " in s)
    inner = inner_page_plan(plan_of(statement, parameters))
    assert any("USING INDEX ix_runs_follow_up_created" in line for line in inner), inner
    assert not any("TEMP B-TREE" in line for line in inner), inner  # read in order, no sort

    cutoff = T0 - timedelta(seconds=policy.follow_up_window)
    everything = []
    while True:  # every page through the cursor: newest first, the window's edge exact
        everything += page.runs
        if page.next_cursor is None:
            break
        page = reads.page(tab=fr.TERMINAL_FOLLOW_UP, cursor=page.next_cursor, limit=5)
    expected = _db.session.execute(
        sa.text(
            "SELECT id FROM operation_runs WHERE outcome IN ('failed', 'partially_succeeded') "
            "AND completed_at >= :cutoff ORDER BY created_at DESC, id DESC"
        ),
        {"cutoff": cutoff},
    )
    assert [run.id for run in everything] == list(expected.scalars())
    assert len(everything) == 14  # 12 inside, one at the window's start, one 1 s after it
    assert all(run.completed_at >= cutoff for run in everything)


def test_a_text_search_reads_the_stored_text_by_run_id_not_the_runs_columns(sqlite_app):
    """The LIKE reads the text the index table stores for each run (one lookup by id), and
    the list is still read newest first through its own index."""
    ws = make_workspace()
    owner = make_user()
    make_member(owner, ws, "owner")
    for n in range(300):
        make_run(ws, now=T0, status="completed", age=n + 60, initiator=f"someone {n % 7}")
    _db.session.commit()
    refresh_statistics(_db.engine)
    reads = RunReads(scope_for_user(owner, ws.id), sqlite_app.extensions["runwarden.policy"], T0)
    page, seen = executed(lambda: reads.page(filters=RunFilters(text="SOMEONE 3"), limit=10))
    assert len(page.runs) == 10 and all(run.initiator == "someone 3" for run in page.runs)
    statement, parameters = next((s, p) for s, p in seen if " AS page " in s)
    assert "lower(" not in statement  # the runs' columns are not read to search
    inner = inner_page_plan(plan_of(statement, parameters))
    assert any("ix_runs_workspace_created" in line for line in inner), inner
    assert not any("TEMP B-TREE" in line for line in inner), inner
    lookups = [d for _, _, d in plan_of(statement, parameters) if "run_search_content" in d]
    assert lookups and all("INTEGER PRIMARY KEY (rowid=?)" in d for d in lookups), lookups


def test_a_ranged_follow_up_count_reads_a_follow_up_index_alone(sqlite_app):
    """Both follow-up indexes hold every column the follow-up count of a created-at range
    asks for, so whichever SQLite reads (it has no figures to choose by), it reads that
    index alone; the counts stay exact."""
    policy = sqlite_app.extensions["runwarden.policy"]
    reads = follow_up_world(policy)
    needed = {"workspace_id", "created_at", "completed_at", "status"}
    for name in ("ix_runs_follow_up", "ix_runs_follow_up_created"):
        info = _db.session.execute(sa.text(f"PRAGMA index_info({name})"))
        assert needed <= {row[2] for row in info}, name
    since = T0 - timedelta(seconds=200)  # the follow-ups created in the last 200 s
    filters = RunFilters(created_from=since)
    counts, seen = executed(lambda: reads.tab_counts(filters=filters))
    (statement, parameters) = [(s, p) for s, p in seen if "terminal_follow_up" in s][-1]
    plan = " | ".join(detail for _, _, detail in plan_of(statement, parameters))
    assert "USING INDEX ix_runs_follow_up" in plan, plan
    expected = _db.session.scalar(
        sa.text(
            "SELECT count(*) FROM operation_runs WHERE outcome IN ('failed', "
            "'partially_succeeded') AND completed_at >= :cutoff AND created_at >= :since"
        ),
        {"cutoff": T0 - timedelta(seconds=policy.follow_up_window), "since": since},
    )
    assert counts[fr.TERMINAL_FOLLOW_UP].value == expected > 0


def test_the_insights_read_their_rollup_rows_by_tenant_key_and_every_day_of_the_window(
    sqlite_app,
):
    """With planner figures of a long history (many tenants, 90 days), the rollup rows of
    one tenant key are read by the primary key, not by the index of days (every tenant's
    rows of the window), from the window's first day to the mark's, both included."""
    from app.models.insight_rollup import ALL_TENANTS, InsightDay
    from app.operations.insight_cells import fingerprint
    from app.operations.insights import Window
    from app.operations.rollup import _stored
    from app.operations.visibility import Scope

    policy = sqlite_app.extensions["runwarden.policy"]
    names = policy.names()[:4]
    ws = make_workspace()
    first = T0.date() - timedelta(days=89)
    rows = [
        {
            "workspace_id": ws.id,
            "tenant_key": key,
            "type": name,
            "day": first + timedelta(days=n),
            "policy": fingerprint(policy.for_type(name)),
        }
        for key in [ALL_TENANTS, *range(50)]
        for name in names
        for n in range(90)
    ]
    _db.session.execute(sa.insert(InsightDay.__table__), rows)
    _db.session.commit()
    refresh_statistics(_db.engine)
    window = Window(Scope(ws.id, "owner", None), T0)
    mark = T0 - timedelta(days=1)
    found, seen = executed(lambda: _stored(window, policy, mark))
    statement, parameters = next((s, p) for s, p in seen if "insight_days" in s)
    details = [detail for _, _, detail in plan_of(statement, parameters)]
    assert details == [
        "SEARCH insight_days USING INDEX sqlite_autoindex_insight_days_1 "
        "(workspace_id=? AND tenant_key=?)"
    ]
    read = sorted({day for _, day in found})
    assert (read[0], read[-1]) == (window.since.date(), mark.date())
    assert len(read) == (mark.date() - window.since.date()).days + 1
    assert len(found) == len(read) * len(names)
