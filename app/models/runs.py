from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

STATUSES = ("queued", "running", "completed")
ACTIVE_STATUSES = ("queued", "running")
OUTCOMES = ("pending", "succeeded", "partially_succeeded", "failed", "cancelled")
TERMINAL_OUTCOMES = ("succeeded", "partially_succeeded", "failed", "cancelled")
# Partial indexes only match a literal predicate: keep these strings literal.
ACTIVE_PREDICATE = "status IN ('queued', 'running')"
FOLLOW_UP_PREDICATE = "outcome IN ('failed', 'partially_succeeded')"
RUNS_FILLFACTOR = 90
# What a list search looks in (app.operations.reads.search.search_document as PostgreSQL
# renders it), indexed by trigrams on PostgreSQL (migration 0009).
SEARCH_DOCUMENT = (
    "lower((((((coalesce(initiator, '') || ' ') || coalesce(failure_message, '')) || ' ') "
    "|| coalesce(reconciliation_message, '')) || ' ') || coalesce(CAST(context AS TEXT), ''))"
)


class OperationRun(db.Model):
    __tablename__ = "operation_runs"
    __table_args__ = (
        sa.CheckConstraint("status IN ('queued', 'running', 'completed')", name="status"),
        sa.CheckConstraint(
            "outcome IN ('pending', 'succeeded', 'partially_succeeded', 'failed', 'cancelled')",
            name="outcome",
        ),
        sa.Index("ix_runs_workspace_created", "workspace_id", "created_at", "id"),
        sa.Index(
            "ix_runs_workspace_tenant_created", "workspace_id", "tenant_id", "created_at", "id"
        ),
        # Active runs are few: partial indexes in list order, workspace-wide and per tenant.
        sa.Index(
            "ix_runs_active_created",
            "workspace_id",
            "created_at",
            "id",
            sqlite_where=sa.text(ACTIVE_PREDICATE),
            postgresql_where=sa.text(ACTIVE_PREDICATE),
        ),
        sa.Index(
            "ix_runs_active_tenant_created",
            "workspace_id",
            "tenant_id",
            "created_at",
            "id",
            sqlite_where=sa.text(ACTIVE_PREDICATE),
            postgresql_where=sa.text(ACTIVE_PREDICATE),
        ),
        # The reconciler's candidate query walks active runs in id order; without this,
        # SQLite (no ANALYZE statistics) scans the whole table by primary key.
        sa.Index(
            "ix_runs_active_id",
            "id",
            sqlite_where=sa.text(ACTIVE_PREDICATE),
            postgresql_where=sa.text(ACTIVE_PREDICATE),
        ),
        # SQLite only: its planner serves the overview's counts by freshness from it (p95
        # 13.8 ms at 1M runs with it, 25.8 without). PostgreSQL walks ix_runs_active_id
        # there, and without this index a heartbeat changes no indexed column (HOT, 0016).
        sa.Index(
            "ix_runs_active_liveness",
            "type",
            "last_heartbeat_at",
            sqlite_where=sa.text(ACTIVE_PREDICATE),
        ).ddl_if(dialect="sqlite"),
        sa.Index(
            "ix_runs_reconciled",
            "workspace_id",
            "reconciled_at",
            sqlite_where=sa.text("reconciled_at IS NOT NULL"),
            postgresql_where=sa.text("reconciled_at IS NOT NULL"),
        ),
        # Follow-up counts read only these (covering) indexes: window by completed_at, and
        # created_at for a list's created-at range.
        sa.Index(
            "ix_runs_follow_up",
            "workspace_id",
            "completed_at",
            "tenant_id",
            "status",
            "created_at",
            sqlite_where=sa.text(FOLLOW_UP_PREDICATE),
            postgresql_where=sa.text(FOLLOW_UP_PREDICATE),
        ),
        # The follow-up tab in list order: newest first, the window checked in the index;
        # with status, a created-at range counts its follow-ups from the index alone.
        sa.Index(
            "ix_runs_follow_up_created",
            "workspace_id",
            "created_at",
            "id",
            "completed_at",
            "status",
            sqlite_where=sa.text(FOLLOW_UP_PREDICATE),
            postgresql_where=sa.text(FOLLOW_UP_PREDICATE),
        ),
        sa.Index(
            "ix_runs_follow_up_tenant",
            "workspace_id",
            "tenant_id",
            "completed_at",
            "status",
            sqlite_where=sa.text(FOLLOW_UP_PREDICATE),
            postgresql_where=sa.text(FOLLOW_UP_PREDICATE),
        ),
        # The insights rollup reads the runs completed in a time range (and only those).
        sa.Index(
            "ix_runs_completed",
            "completed_at",
            sqlite_where=sa.text("completed_at IS NOT NULL"),
            postgresql_where=sa.text("completed_at IS NOT NULL"),
        ),
        sa.Index(
            "ix_runs_search",
            sa.literal_column(SEARCH_DOCUMENT).label("search"),
            postgresql_using="gin",
            postgresql_ops={"search": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
        # Room on each page for a heartbeat's new row version: no indexed column changes,
        # so the update is HOT (no index entry) when the version fits on its page (0016).
        {"postgresql_with": {"fillfactor": RUNS_FILLFACTOR}},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(sa.ForeignKey("workspaces.id"))
    tenant_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tenants.id"), nullable=True)
    type: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(16), default="queued")
    outcome: Mapped[str] = mapped_column(sa.String(24), default="pending")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)
    started_at: Mapped[datetime | None] = mapped_column(sa.DateTime, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(sa.DateTime, nullable=True)
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(sa.DateTime, nullable=True)
    processed: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    total: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    last_progress_at: Mapped[datetime | None] = mapped_column(sa.DateTime, nullable=True)
    initiator: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    context: Mapped[dict | None] = mapped_column(sa.JSON, nullable=True)
    failure_message: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    reconciled_at: Mapped[datetime | None] = mapped_column(sa.DateTime, nullable=True)
    reconciliation_reason: Mapped[str | None] = mapped_column(sa.String(40), nullable=True)
    reconciliation_message: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    # The timeline's size, and what it counts instead of keeping (see operations.timeline).
    event_count: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    late_reports: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    late_reports_omitted: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    last_late_report_at: Mapped[datetime | None] = mapped_column(sa.DateTime, nullable=True)
    progress_regressions: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    progress_regressions_omitted: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    last_regression_at: Mapped[datetime | None] = mapped_column(sa.DateTime, nullable=True)
    # Longest silence (seconds) between heartbeats and between progress steps, kept by the
    # report's own UPDATE (see operations.store.rules); NULL for runs older than 0010.
    heartbeat_gap_max: Mapped[float | None] = mapped_column(sa.Float, server_default="0")
    progress_gap_max: Mapped[float | None] = mapped_column(sa.Float, server_default="0")

    tenant = db.relationship("Tenant", lazy="raise")
    events = db.relationship("RunEvent", order_by="RunEvent.id", lazy="raise", back_populates="run")

    @property
    def is_active(self):
        return self.status in ACTIVE_STATUSES


class RunEvent(db.Model):
    """One entry of a run's timeline. Never updated, never deleted."""

    __tablename__ = "run_events"
    # The timeline's one order, newest first: (at, id) descending, read from this index.
    __table_args__ = (sa.Index("ix_run_events_timeline", "run_id", "at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("operation_runs.id"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    at: Mapped[datetime] = mapped_column(sa.DateTime)
    actor: Mapped[str] = mapped_column(sa.String(200))
    data: Mapped[dict | None] = mapped_column(sa.JSON, nullable=True)

    run = db.relationship("OperationRun", back_populates="events", lazy="raise")


class RunChange(db.Model):
    """Change feed: one row per run change, tailed by every web process for live pushes."""

    __tablename__ = "run_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.Integer, index=True)
    workspace_id: Mapped[int] = mapped_column(sa.Integer)
    tenant_id: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    at: Mapped[datetime] = mapped_column(sa.DateTime, index=True)


# The search index needs pg_trgm; create_all (tests, first runs) enables it as 0009 does.
sa.event.listen(
    OperationRun.__table__,
    "before_create",
    sa.DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"),
)


def built_on(index, dialect_name):
    """Whether the models build ``index`` on a database of ``dialect_name`` (an index may
    be built on one database only: ``ddl_if``)."""
    only = getattr(index, "_ddl_if", None)
    return only is None or only.dialect in (None, dialect_name)


def on_dialect(dialect_name):
    """Alembic's ``include_object`` hook for a database of ``dialect_name``: a model index
    built only on another database is not expected there."""

    def include_object(obj, name, type_, reflected, compare_to):
        return reflected or type_ != "index" or built_on(obj, dialect_name)

    return include_object
