"""The one shape in which runs reach the presenter: a run's columns plus its tenant's name.

Every read of ``RunReads`` and every write of the RunStore (``operations.store``) returns
runs as ``RunRead`` tuples (a field costs a tuple look-up; a row is read 20-40 times on its
way to a page).
"""

from collections import namedtuple

from app.models import OperationRun

RUN_FIELDS = tuple(c.key for c in OperationRun.__table__.columns)
TENANT_FIELDS = ("tenant_uuid", "tenant_slug", "tenant_name")


class RunRead(namedtuple("RunRead", RUN_FIELDS + TENANT_FIELDS)):
    """A run as every surface shows it; the tenant fields are None for a workspace-level run."""

    __slots__ = ()

    @property
    def is_active(self):
        return self.status in ("queued", "running")


def reads_of(rows):
    """RunReads of rows whose first columns are a RunRead's (extra columns are dropped)."""
    width = len(RunRead._fields)
    return [RunRead._make(row[:width]) for row in rows]
