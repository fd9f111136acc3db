"""PostgreSQL sessions reuse generic plans; settings given by the deployment are kept."""

import pytest
import sqlalchemy as sa

from app.postgres import POOL_SIZE, SESSION_SETTINGS, configure


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_every_connection_uses_generic_plans_and_no_parallel_workers(app, db):
    assert db.session.scalar(sa.text("SHOW plan_cache_mode")) == "force_generic_plan"
    assert db.session.scalar(sa.text("SHOW max_parallel_workers_per_gather")) == "0"


def test_settings_are_added_to_what_the_deployment_gave():
    config = {
        "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://db/runwarden",
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 3, "connect_args": {"options": "-c a=b"}},
    }
    configure(config)
    assert config["SQLALCHEMY_ENGINE_OPTIONS"] == {
        "pool_size": 3,
        "max_overflow": 0,
        "pool_pre_ping": True,
        "connect_args": {"options": f"-c a=b {SESSION_SETTINGS}"},
    }


def test_pooled_connections_are_checked_unless_the_deployment_says_otherwise():
    config = {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://db/runwarden"}
    configure(config)
    assert config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True
    config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] = False
    configure(config)
    assert config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is False


def test_pooled_connections_are_kept_not_closed_and_opened_again():
    # 15 at most, as SQLAlchemy's default 5 + 10 overflow, but the overflow ones were
    # closed on return and reopened under load: a new server backend each time.
    config = {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://db/runwarden"}
    configure(config)
    options = config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert (options["pool_size"], options["max_overflow"]) == (POOL_SIZE, 0) == (15, 0)


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_the_app_engine_keeps_its_connections(app, db):
    assert (db.engine.pool.size(), db.engine.pool._max_overflow) == (15, 0)


def test_sqlite_is_left_alone():
    config = {"SQLALCHEMY_DATABASE_URI": "sqlite://"}
    configure(config)
    assert "SQLALCHEMY_ENGINE_OPTIONS" not in config


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_the_report_statements_are_parsed_once_per_process(app, db):
    # psycopg re-parses a longer text (or one with more parameters) on every execution.
    from psycopg import _queries

    from app.operations.store.postgresql import heartbeat_statement, heartbeats_statement

    for statement in (heartbeat_statement(), heartbeats_statement()):
        compiled = statement.compile(dialect=db.engine.dialect)
        assert 4096 < len(str(compiled).encode()) <= _queries.MAX_CACHED_STATEMENT_LENGTH
        assert len(compiled.params) <= _queries.MAX_CACHED_STATEMENT_PARAMS
