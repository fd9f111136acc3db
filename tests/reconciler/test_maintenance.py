"""SQLite planner statistics are refreshed by the reconciler, at most once an hour."""

import pytest
import sqlalchemy as sa

from reconciler.loop import ReconcilerService
from reconciler.maintenance import refresh_statistics
from tests.conftest import T0
from tests.factories import make_run, make_workspace


def _stat_rows(db):
    if db.engine.dialect.name != "sqlite":
        return None
    exists = db.session.scalar(
        sa.text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
    )
    return db.session.scalar(sa.text("SELECT count(*) FROM sqlite_stat1")) if exists else 0


def test_refresh_statistics_analyzes_sqlite_only(db):
    make_run(make_workspace(), now=T0)
    done = refresh_statistics(db.engine)
    assert done is (db.engine.dialect.name == "sqlite")
    if done:
        assert _stat_rows(db) > 0


def test_the_loop_refreshes_once_an_hour(app, db, clock, monkeypatch):
    calls = []
    monkeypatch.setattr("reconciler.loop.refresh_statistics", lambda engine: calls.append(1))
    app.config["RUNWARDEN_RECONCILER"] = "external"
    loop = ReconcilerService(app, role="test")
    with app.app_context():
        loop._upkeep()
        clock.advance(3599)
        loop._upkeep()
        assert len(calls) == 1
        clock.advance(1)
        loop._upkeep()
        assert len(calls) == 2


@pytest.mark.parametrize("backend", ["sqlite"])  # SQLite's planner statistics only
def test_after_the_refresh_a_workspace_count_of_active_runs_reads_their_partial_index(db):
    assert db.engine.dialect.name == "sqlite"
    ws = make_workspace()
    for n in range(400):
        make_run(ws, now=T0, status="completed", age=n + 60, completed_ago=n)
    for n in range(4):
        make_run(ws, now=T0, age=30 + n)
    db.session.commit()
    refresh_statistics(db.engine)
    query = (
        "SELECT count(*) FROM operation_runs "
        "WHERE workspace_id = ? AND status IN ('queued', 'running')"
    )
    with db.engine.connect() as connection:
        plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {query}", (ws.id,)).all()
        count = connection.exec_driver_sql(query, (ws.id,)).scalar()
    assert count == 4
    # Not one of the whole-table indexes: with one workspace ANALYZE's figures made SQLite
    # walk every run of it (seconds at 1M runs) instead of the few active ones.
    assert "ix_runs_active_" in plan[-1][-1], plan
    partial = db.session.scalar(
        sa.text("SELECT count(*) FROM sqlite_stat1 WHERE idx LIKE 'ix_runs_active_%'")
    )
    assert partial == 0
