"""Fixtures shared by the unit tests: the CLI runner, scratch databases, logging."""

import json
import logging
import uuid

import pytest
import sqlalchemy as sa

from config import normalize_database_url
from tests.conftest import require_postgres


@pytest.fixture
def keep_logging():
    """Alembic's env.py calls logging.fileConfig, which disables existing loggers: undo it."""
    manager = logging.root.manager
    saved = {
        name: (logger.disabled, logger.level, list(logger.handlers), logger.propagate)
        for name, logger in manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    root = logging.getLogger()
    root_level, root_handlers = root.level, list(root.handlers)
    yield
    root.setLevel(root_level)
    root.handlers[:] = root_handlers
    for name, logger in manager.loggerDict.items():
        if not isinstance(logger, logging.Logger):
            continue
        disabled, level, handlers, propagate = saved.get(name, (False, logging.NOTSET, [], True))
        logger.disabled, logger.propagate = disabled, propagate
        logger.setLevel(level)
        logger.handlers[:] = handlers


@pytest.fixture
def scratch_postgres():
    """A new empty PostgreSQL database, dropped afterwards."""
    server = sa.engine.make_url(normalize_database_url(require_postgres()))
    name = f"runwarden_migr_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def invoke(*args):
        return runner.invoke(args=list(args))

    return invoke


def ok(result):
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, "exactly one JSON object on stdout"
    return json.loads(lines[0])


def error(result):
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    return json.loads(result.stderr.strip())["error"]
