"""A list search's tab counts: the same counts whichever way each tab looks for the text
(PostgreSQL's trigram index for a text the whole list holds at most ``cap`` times, the
tab's own runs for a commoner one), at the boundary of ``cap`` and past it."""

import pytest
from sqlalchemy import event

from app.extensions import db as database
from app.operations import freshness as fr
from app.operations import get_policy
from app.operations.queries import Count, RunFilters
from app.operations.reads import RunReads
from app.operations.visibility import scope_for_user
from tests.conftest import T0
from tests.factories import make_member, make_run, make_user, make_workspace

STALE = 30 * 60 + 60  # past baseline_compare's running_stale
WINDOW = 7 * 24 * 3600  # the follow-up window
TABS = ("all", "active", fr.ACTIVE_STALE_ATTENTION, fr.TERMINAL_FOLLOW_UP)


@pytest.fixture
def reads(db):
    ws, other = make_workspace(), make_workspace()
    owner = make_user()
    make_member(owner, ws, "owner")

    def run(text, workspace=ws, **kwargs):
        make_run(workspace, now=T0, initiator=text, **kwargs)

    for n in range(12):  # completed successes, inside and outside the window
        run("Common Text", status="completed", age=n * 7200 + 60, completed_ago=n * 7200)
    for age in (60, 120, 180):
        run("common text", age=age)
    for age in (STALE, STALE + 1):
        run("x common text y", age=age)
    for completed_ago in (WINDOW - 1, WINDOW, 60, 120):  # in the window, its start included
        run("COMMON TEXT", status="completed", outcome="failed", completed_ago=completed_ago)
    run("common text", status="completed", outcome="failed", completed_ago=WINDOW + 1)
    run("rare words", age=STALE)
    run("rare words", status="completed", outcome="partially_succeeded", completed_ago=30)
    run("common text", workspace=other, age=60)  # another workspace's run: never counted
    run("rare words", workspace=other, status="completed", outcome="failed", completed_ago=30)
    database.session.commit()
    return RunReads(scope_for_user(owner, ws.id), get_policy(), T0)


def counts(reads, text, cap):
    found = reads.tab_counts(filters=RunFilters(text=text), cap=cap)
    return tuple(found[tab] for tab in TABS)


def test_common_and_rare_texts_count_the_same_in_every_tab(reads):
    # 22 runs hold "common text": the whole list caps at 100 only beyond it.
    assert counts(reads, "common TEXT", 100) == (
        Count(22, False),
        Count(5, False),
        Count(2, False),
        Count(4, False),
    )
    assert counts(reads, "rare words", 100) == (
        Count(2, False),
        Count(1, False),
        Count(1, False),
        Count(1, False),
    )
    assert counts(reads, "held by no run", 100) == (Count(0, False),) * 4
    assert counts(reads, "%", 100) == (Count(0, False),) * 4  # taken literally: held by none


@pytest.mark.parametrize(
    "cap, everything",
    [(22, Count(22, False)), (21, Count(21, True)), (2, Count(2, True))],
)
def test_at_and_past_the_cap_the_other_tabs_count_the_same(reads, cap, everything):
    """At ``cap`` the tabs read the text through the index, past it through their runs."""
    found = counts(reads, "common text", cap)
    assert found[0] == everything
    assert found[1:] == (
        Count(min(5, cap), 5 > cap),
        Count(2, False),
        Count(min(4, cap), 4 > cap),
    )


def test_a_common_text_is_looked_for_in_the_tabs_runs_not_through_the_trigram_index(reads, db):
    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        counts(reads, "common text", 100)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    (statement,) = [s for s in statements if "everything" in s]
    searched = statement.count("LIKE '%%common text%%'") or statement.count("LIKE '%common text%'")
    assert searched == 7  # the whole list once, each other tab in both forms
    unindexed = statement.count("|| '') LIKE")
    assert unindexed == (3 if db.engine.dialect.name == "postgresql" else 0)
