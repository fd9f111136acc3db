"""Migration 0010: runs that existed before it have unknown gaps (NULL), new runs start at 0."""

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from app import create_app
from app.extensions import db
from config import TestConfig

pytestmark = pytest.mark.usefixtures("keep_logging")

INSERT_RUN = (
    "INSERT INTO operation_runs (workspace_id, type, status, outcome, created_at) "
    "VALUES (1, 'inventory_sync', 'queued', 'pending', '2026-11-26 12:00:00.000000')"
)
GAPS = "SELECT heartbeat_gap_max, progress_gap_max FROM operation_runs ORDER BY id"


def _migrate_with_an_older_run(url):
    app = create_app(TestConfig(url))
    with app.app_context():
        try:
            upgrade(revision="0009")
            with db.engine.begin() as conn:
                conn.execute(
                    sa.text(
                        "INSERT INTO workspaces (slug, name, created_at) "
                        "VALUES ('w', 'W', '2026-11-26 12:00:00')"
                    )
                )
                conn.execute(sa.text(INSERT_RUN))
            upgrade()
            with db.engine.begin() as conn:
                conn.execute(sa.text(INSERT_RUN))
                gaps = [tuple(row) for row in conn.execute(sa.text(GAPS))]
            downgrade(revision="0009")
            with db.engine.connect() as conn:
                columns = {c["name"] for c in sa.inspect(conn).get_columns("operation_runs")}
        finally:
            db.engine.dispose()
    assert gaps == [(None, None), (0, 0)]
    assert not {"heartbeat_gap_max", "progress_gap_max"} & columns


def test_older_runs_keep_unknown_gaps_on_sqlite(tmp_path):
    _migrate_with_an_older_run(f"sqlite:///{tmp_path / 'migrated.db'}")


@pytest.mark.postgres
def test_older_runs_keep_unknown_gaps_on_postgres(scratch_postgres):  # noqa: F811
    _migrate_with_an_older_run(scratch_postgres)
