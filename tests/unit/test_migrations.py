"""The Alembic history builds the models' schema on empty SQLite and PostgreSQL databases."""

import warnings

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from app import create_app
from app.extensions import db
from app.models import run_search
from app.models.runs import RUNS_FILLFACTOR, on_dialect
from config import TestConfig

pytestmark = pytest.mark.usefixtures("keep_logging")


def with_probe_column(metadata):
    """A copy of ``metadata`` with one column the migrations do not know."""
    copy = sa.MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        copied = table.to_metadata(copy)
        only = {index.name: index._ddl_if for index in table.indexes}
        for index in copied.indexes:  # to_metadata leaves out an index's ddl_if
            index._ddl_if = only.get(index.name)
    column = sa.Column("drift_probe", sa.Integer, nullable=True)
    copy.tables["operation_runs"].append_column(column)
    return copy


RUNS_OPTIONS = sa.text("SELECT reloptions FROM pg_class WHERE relname = 'operation_runs'")
RUNS_AUTOVACUUM = {
    f"autovacuum_{kind}_{part}": value
    for kind in ("vacuum", "vacuum_insert", "analyze")
    for part, value in (("threshold", "1000"), ("scale_factor", "0.005"))
}
SEARCH_INDEX_SKIPPED = ".*expression-based index 'ix_runs_search'.*"


def upgrade_and_compare(url):
    """Apply every migration to the empty database at ``url`` and diff it against the models."""
    app = create_app(TestConfig(url))
    with app.app_context():
        try:
            upgrade()
            with db.engine.connect() as conn, warnings.catch_warnings():
                # SQLite cannot reflect expression indexes; the PostgreSQL-only search
                # index (0009) is compared on PostgreSQL.
                warnings.filterwarnings("ignore", message=SEARCH_INDEX_SKIPPED)
                opts = {
                    "compare_type": True,
                    "include_name": run_search.include_name,
                    "include_object": on_dialect(conn.dialect.name),
                }
                context = MigrationContext.configure(conn, opts=opts)
                drift = compare_metadata(context, db.metadata)
                probe = compare_metadata(context, with_probe_column(db.metadata))
                tables = set(sa.inspect(conn).get_table_names())
                index_tables = {name for name in tables if run_search.is_own_table(name)}
                options = conn.scalar(RUNS_OPTIONS) if url.startswith("postgresql") else None
        finally:
            db.engine.dispose()
    assert drift == [], f"models and migrations differ: {drift}"
    assert [(op[0], op[2], op[3].name) for op in probe] == [
        ("add_column", "operation_runs", "drift_probe")
    ], "the comparison notices a model column without a migration"
    assert tables - index_tables == set(db.metadata.tables) | {"alembic_version"}
    if url.startswith("sqlite"):  # 0012: SQLite's search index, and nothing on PostgreSQL
        assert "run_search" in index_tables
    else:
        assert index_tables == set()
        # 0015: the runs table is vacuumed and analyzed after 1,000 rows plus 0.5 % changed;
        # 0016: its pages keep room for a heartbeat's new row version, as the model says
        expected = {**RUNS_AUTOVACUUM, "fillfactor": str(RUNS_FILLFACTOR)}
        assert sorted(options) == sorted(f"{k}={v}" for k, v in expected.items())


def test_migrations_match_the_models_on_sqlite(tmp_path):
    upgrade_and_compare(f"sqlite:///{tmp_path / 'migrated.db'}")


@pytest.mark.postgres
def test_migrations_match_the_models_on_postgres(scratch_postgres):
    upgrade_and_compare(scratch_postgres)
