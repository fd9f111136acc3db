from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class IdempotencyKey(db.Model):
    """A create made under an ``Idempotency-Key``: the request's fingerprint and the answer
    given, so a retry gets the same answer and never a second run."""

    __tablename__ = "idempotency_keys"

    workspace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    run_id: Mapped[int] = mapped_column(
        sa.ForeignKey("operation_runs.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[int] = mapped_column(sa.SmallInteger)
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)
