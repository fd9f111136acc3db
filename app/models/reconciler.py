from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class ReconcilerPass(db.Model):
    """One pass of the reconciler, recorded for its own freshness."""

    __tablename__ = "reconciler_passes"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(sa.DateTime, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime, nullable=True)
    holder: Mapped[str] = mapped_column(sa.String(200))
    scanned: Mapped[int] = mapped_column(sa.Integer, default=0)
    reconciled: Mapped[int] = mapped_column(sa.Integer, default=0)
    skipped: Mapped[int] = mapped_column(sa.Integer, default=0)
    error_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    errors: Mapped[list | None] = mapped_column(sa.JSON, nullable=True)


class ReconcilerLease(db.Model):
    """The scheduler lease: at most one holder whose lease has not expired."""

    __tablename__ = "reconciler_lease"

    name: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(sa.String(200))
    acquired_at: Mapped[datetime] = mapped_column(sa.DateTime)
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime)
