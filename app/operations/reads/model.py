"""The one shape in which runs reach the presenter: a run's columns plus its tenant's name.

Every read of ``RunReads`` returns runs as ``RunRead`` tuples (a field costs a tuple
look-up; a row is read 20-40 times on its way to a page). A run written by the API becomes
one with ``as_read``.
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


def as_read(run, tenant):
    """The RunRead of ``run`` (any object with the run's columns, such as the row a write
    returned) whose tenant is ``tenant`` (None for a workspace-level run)."""
    values = [getattr(run, name) for name in RUN_FIELDS]
    if tenant is None or run.tenant_id is None:
        return RunRead(*values, None, None, None)
    return RunRead(*values, tenant.uuid, tenant.slug, tenant.name)


def reads_of(rows):
    """RunReads of rows whose first columns are a RunRead's (extra columns are dropped)."""
    width = len(RunRead._fields)
    return [RunRead._make(row[:width]) for row in rows]
