"""SQLite planner statistics are refreshed by the reconciler, at most once an hour."""

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
