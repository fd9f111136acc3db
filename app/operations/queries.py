"""The vocabulary of run lists: tabs, filters, cursors, pages and counts.

The statements that read them are ``app.operations.reads``'s.
"""

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from app.operations import freshness as fr
from app.operations import search as sr

TAB_ALL = "all"
TAB_ACTIVE = "active"
TABS = (TAB_ALL, TAB_ACTIVE, fr.ACTIVE_STALE_ATTENTION, fr.TERMINAL_FOLLOW_UP)
STATUSES = ("queued", "running", "completed")
COUNT_CAP = 10_000
MAX_PAGE = 200
MAX_ID = 2**63 - 1
MAX_ROW_ID = 2**31 - 1  # primary keys are INTEGER columns: 32-bit on PostgreSQL


class InvalidQuery(ValueError):
    """A tab, filter or cursor that cannot be used; ``field`` names it."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class RunFilters:
    """Optional list filters (all combine with AND)."""

    tenant_id: int | None = None
    type: str | None = None
    status: str | None = None
    problem_class: str | None = None
    text: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None

    def validate(self):
        """Raise InvalidQuery for values outside the domain."""
        if self.status is not None and self.status not in STATUSES:
            raise InvalidQuery("status", f"unknown status {self.status!r}")
        if self.text is not None and not 0 < len(self.text) <= sr.MAX_SEARCH:
            raise InvalidQuery("q", f"search text must be 1 to {sr.MAX_SEARCH} characters")
        if self.problem_class is not None and self.problem_class not in fr.PROBLEM_CLASSES:
            raise InvalidQuery("problemClass", f"unknown problem class {self.problem_class!r}")
        return self


@dataclass(frozen=True)
class Page:
    """One keyset page in the list order; ``prev_cursor`` leads to the page before it."""

    runs: list
    next_cursor: str | None
    prev_cursor: str | None = None


def encode_cursor(run):
    """Opaque cursor pointing after ``run`` in newest-first order."""
    raw = f"{run.created_at.isoformat()}|{run.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor):
    """(created_at, id) from a cursor; InvalidQuery when it is not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, run_id = base64.urlsafe_b64decode(padded.encode()).decode().split("|")
        created_at, run_id = datetime.fromisoformat(created), int(run_id)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidQuery("cursor", "cursor is not valid") from exc
    if not 0 <= run_id <= MAX_ID:
        raise InvalidQuery("cursor", "cursor is not valid")
    return created_at, run_id


@dataclass(frozen=True)
class Count:
    """A count, possibly capped (shown as "10,000+")."""

    value: int
    capped: bool = False
