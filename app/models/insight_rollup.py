"""The insights rollup: per workspace, tenant, operation type and UTC day, what the
insights page reads instead of the raw runs (kept by the reconciler's upkeep, see
``app.operations.rollup``)."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

ALL_TENANTS = -1  # tenant_key of the rows summing every run of the workspace
NO_TENANT = 0  # tenant_key of the workspace's runs without a tenant
COUNT_COLUMNS = (
    "succeeded",
    "partially_succeeded",
    "failed",
    "cancelled",
    "reconciled",
    "gaps_known",
    "alarms_queued",
    "alarms_running",
    "alarms_heartbeat",
    "alarms_progress",
    "alarms_any",
    "noticed_runs",
)
MEASURE_COLUMNS = ("queue_wait", "run_time", "heartbeat_gap", "progress_gap")


def _columns():
    columns = [
        sa.Column(name, sa.Integer, nullable=False, server_default="0") for name in COUNT_COLUMNS
    ]
    columns += [
        sa.Column("noticed_shown", sa.Float, nullable=False, server_default="0"),
        sa.Column("noticed_closed", sa.Float, nullable=False, server_default="0"),
    ]
    for (
        name
    ) in MEASURE_COLUMNS:  # n, exact max, first bucket, counts from it (packed 32-bit integers)
        columns += [
            sa.Column(f"{name}_n", sa.Integer, nullable=False, server_default="0"),
            sa.Column(f"{name}_max", sa.Float, nullable=True),
            sa.Column(f"{name}_low", sa.Integer, nullable=False, server_default="0"),
            sa.Column(f"{name}_counts", sa.LargeBinary, nullable=True),
        ]
    return columns


class InsightDay(db.Model):
    """One (workspace, tenant, type, UTC day): completed runs by outcome, exact false-alarm
    counts and "noticed after" sums for the policy ``policy`` names (a fingerprint of the
    type's windows), and 2 % log-scale buckets of each measure. ``tenant_key`` is the
    tenant's id, NO_TENANT for runs without one, ALL_TENANTS for the workspace's sum."""

    __table__ = sa.Table(
        "insight_days",
        db.metadata,
        sa.Column("workspace_id", sa.Integer, sa.ForeignKey("workspaces.id"), primary_key=True),
        sa.Column("tenant_key", sa.Integer, primary_key=True),
        sa.Column("type", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("policy", sa.String(32), nullable=False),
        *_columns(),
        sa.Index("ix_insight_days_day", "day"),
    )


class InsightRollupState(db.Model):
    """How far the rollup reaches: every run completed before ``rolled_until`` is in it."""

    __tablename__ = "insight_rollup_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    rolled_until: Mapped[datetime | None] = mapped_column(sa.DateTime, nullable=True)
