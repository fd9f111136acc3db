"""A run's timeline: one order, read a page at a time, and what it counts instead of keeping.

The order is newest first by (at, id): the detail page and the API read it through
``timeline_page`` only, from the index (run_id, at, id), so a page costs the same for a
run with five events or a million. Late reports and progress regressions are kept in
full up to a limit each (``TIMELINE_LATE_REPORTS_KEPT``, ``TIMELINE_REGRESSIONS_KEPT``),
then counted on the run (``late_reports_omitted``, ``progress_regressions_omitted`` with
the time of the last one); ``omitted`` reports those counts so nothing disappears.
"""

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.models import RunEvent

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
LATE_REPORTS_KEPT = 100
REGRESSIONS_KEPT = 100
MAX_ID = 2**63 - 1


class InvalidCursor(ValueError):
    """A timeline cursor that is not one of ours."""


@dataclass(frozen=True)
class Omitted:
    """Reports of one kind counted on the run instead of kept as events."""

    kind: str
    count: int
    last_at: datetime | None


@dataclass(frozen=True)
class TimelinePage:
    """One page of a run's timeline, newest first.

    ``older`` is the cursor of the next (older) page, None on the last; ``total`` is the
    number of events the run has; ``omitted`` lists the reports counted, not kept;
    ``newest`` says whether this is the first page (no cursor given).
    """

    events: list
    total: int
    older: str | None
    omitted: tuple = ()
    newest: bool = True


def late_reports_kept():
    """How many late reports a run keeps as events before it only counts them."""
    return int(current_app.config.get("TIMELINE_LATE_REPORTS_KEPT", LATE_REPORTS_KEPT))


def regressions_kept():
    """How many progress regressions a run keeps as events before it only counts them."""
    return int(current_app.config.get("TIMELINE_REGRESSIONS_KEPT", REGRESSIONS_KEPT))


def encode_cursor(event):
    """Opaque cursor pointing after ``event`` (towards older events)."""
    raw = f"{event.at.isoformat()}|{event.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor):
    """(at, id) from a cursor; InvalidCursor when it is not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, event_id = base64.urlsafe_b64decode(padded.encode()).decode().split("|")
        at, event_id = datetime.fromisoformat(at), int(event_id)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidCursor("the events cursor is not valid") from exc
    if at.tzinfo is not None or not 0 <= event_id <= MAX_ID:
        raise InvalidCursor("the events cursor is not valid")
    return at, event_id


@lru_cache(maxsize=8)
def _page_query(after_cursor, limit):
    """The page SELECT (one more row than ``limit``, to know whether older ones exist)."""
    events = RunEvent.__table__
    query = sa.select(events).where(events.c.run_id == sa.bindparam("run_id", type_=sa.Integer))
    if after_cursor:
        at = sa.bindparam("before_at", type_=events.c.at.type)
        event_id = sa.bindparam("before_id", type_=sa.BigInteger)
        query = query.where(sa.tuple_(events.c.at, events.c.id) < sa.tuple_(at, event_id))
    return query.order_by(events.c.at.desc(), events.c.id.desc()).limit(limit + 1)


def timeline_page(run, before=None, limit=PAGE_SIZE):
    """A page of ``run``'s events, newest first, older than the cursor ``before``.

    ``run`` is the run (its counters give the total and the omitted reports without
    counting rows). Raises InvalidCursor for a cursor that is not one of ours.
    """
    limit = max(1, min(int(limit), MAX_PAGE_SIZE))
    params = {"run_id": run.id}
    if before:
        params["before_at"], params["before_id"] = decode_cursor(before)
    rows = db.session.execute(_page_query(bool(before), limit), params).all()
    older = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return TimelinePage(rows[:limit], run.event_count, older, omitted(run), not before)


def omitted(run):
    """The reports ``run`` counted instead of keeping, as Omitted (none: empty)."""
    counted = (
        Omitted("late_report", run.late_reports_omitted, run.last_late_report_at),
        Omitted("progress_regression", run.progress_regressions_omitted, run.last_regression_at),
    )
    return tuple(item for item in counted if item.count)
