"""Finding runs: text search, a created-at range and the order of a list page.

Text search looks in what people remember about a run: its initiator, its context values
and its messages (the worker's and the reconciler's), case-insensitively, as a substring.
On PostgreSQL a trigram index over the same expression (migration 0009) serves it, on
SQLite an FTS5 trigram table narrows the runs the LIKE reads (``text_index``).
"""

import base64
import binascii
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from app.models import OperationRun
from app.operations import text_index

SORT_CREATED, SORT_DURATION = "created", "duration"
SORTS = (SORT_CREATED, SORT_DURATION)
MAX_SEARCH = 200


def search_document(model=OperationRun):
    """The lower-cased text a search looks in (the trigram index is on this expression)."""
    empty, space = sa.literal_column("''"), sa.literal_column("' '")
    parts = [
        sa.func.coalesce(model.initiator, empty),
        sa.func.coalesce(model.failure_message, empty),
        sa.func.coalesce(model.reconciliation_message, empty),
        sa.func.coalesce(sa.cast(model.context, sa.Text), empty),
    ]
    joined = parts[0]
    for part in parts[1:]:
        joined = joined.op("||")(space).op("||")(part)
    return sa.func.lower(joined)


def search_document_sql():
    """``search_document`` as SQL text, for the index of migration 0009."""
    from sqlalchemy.dialects import postgresql

    table = OperationRun.__table__
    expr = search_document(table.c)
    return str(expr.compile(dialect=postgresql.dialect())).replace("operation_runs.", "")


def like_pattern(text):
    """A LIKE pattern finding ``text`` anywhere (its own % and _ taken literally)."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def run_id_in(text):
    """The run id that ``text`` names ("1234" or "#1234"), or None."""
    raw = text.strip().removeprefix("#")
    if raw.isascii() and raw.isdigit() and len(raw) <= 10 and int(raw) <= 2**31 - 1:
        return int(raw)
    return None


BY_ID, BY_ID_OR_TEXT, BY_TEXT = "id", "id_or_text", "text"


def search_kind(text):
    """How ``text`` is looked for: "#1234" names one run (by its id alone), "1234" a run
    or text containing it, anything else text."""
    if run_id_in(text) is None:
        return BY_TEXT
    return BY_ID if text.strip().startswith("#") else BY_ID_OR_TEXT


def search_shape(text):
    """What the SQL of a search for ``text`` depends on: (``search_kind``, whether SQLite's
    text index narrows it), the arguments of ``search_clause``."""
    return search_kind(text), text_index.narrows(text)


def search_params(text):
    """The bound values of ``search_clause(*search_shape(text))``."""
    values = {"search_pattern": like_pattern(text), "search_id": run_id_in(text)}
    if text_index.indexable(text):
        values["search_phrase"] = text_index.match_phrase(text)
    return values


def search_clause(kind, indexed=False, model=OperationRun):
    """Runs found by a search of ``kind`` (``search_kind``): whose id is ``:search_id``
    and/or whose text contains ``:search_pattern`` (on SQLite, when ``indexed``, among the
    runs its text index gives for ``:search_phrase``)."""
    by_id = model.id == sa.bindparam("search_id", type_=sa.Integer, required=True)
    if kind == BY_ID:
        return by_id
    # Written into the SQL text: a generic plan over a bound pattern cannot use the
    # trigram index and reads every run.
    pattern = sa.bindparam("search_pattern", type_=sa.String, required=True, literal_execute=True)
    text = search_document(model).like(pattern, escape="\\")
    if indexed:
        text = sa.and_(text_index.candidates_clause(model.id), text)
    return text if kind == BY_TEXT else sa.or_(by_id, text)


def range_clauses(has_from, has_to, model=OperationRun):
    """Runs created at or after ``:created_from`` and before ``:created_to``."""
    clauses = []
    if has_from:
        clauses.append(
            model.created_at >= sa.bindparam("created_from", type_=sa.DateTime, required=True)
        )
    if has_to:
        clauses.append(
            model.created_at < sa.bindparam("created_to", type_=sa.DateTime, required=True)
        )
    return clauses


class seconds_between(FunctionElement):
    """Seconds from the first to the second instant, on SQLite and PostgreSQL."""

    type = sa.Float()
    inherit_cache = True


@compiles(seconds_between)
def _seconds_sqlite(element, compiler, **kw):
    start, end = list(element.clauses)
    return (
        f"((julianday({compiler.process(end, **kw)}) - "
        f"julianday({compiler.process(start, **kw)})) * 86400.0)"
    )


@compiles(seconds_between, "postgresql")
def _seconds_postgresql(element, compiler, **kw):
    start, end = list(element.clauses)
    return f"EXTRACT(EPOCH FROM ({compiler.process(end, **kw)} - {compiler.process(start, **kw)}))"


def duration_key(model=OperationRun):
    """A run's duration in seconds at ``:sort_now`` (-1 while queued): the duration order."""
    now = sa.bindparam("sort_now", type_=sa.DateTime, required=True)
    end = sa.func.coalesce(model.completed_at, now)
    return sa.func.coalesce(seconds_between(model.started_at, end), -1.0)


def encode_duration_cursor(seconds, run_id):
    """Opaque cursor after (duration, id) in the duration order."""
    raw = f"d|{seconds!r}|{run_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_duration_cursor(cursor):
    """(seconds, id) from a duration cursor; ValueError when it is not one."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        kind, seconds, run_id = base64.urlsafe_b64decode(padded.encode()).decode().split("|")
        if kind != "d":
            raise ValueError("not a duration cursor")
        return float(seconds), int(run_id)
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError("cursor is not valid") from exc


# An IANA zone name ("Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+5"):
# never a path, so nothing but a zone is ever read from the time-zone database.
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+-]{0,29}(/[A-Za-z0-9_+-]{1,30}){0,2}")


def time_zone(name):
    """The zone named ``name`` (UTC when empty); ValueError when it names no zone."""
    if not name or name == "UTC":
        return UTC
    if not _ZONE_NAME.fullmatch(name):
        raise ValueError("not a time zone name")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError("unknown time zone") from exc


def parse_instant(value, zone=UTC):
    """A naive UTC datetime from "2026-11-30T14:00" (a datetime-local value) or a date, read
    as a wall-clock time in ``zone`` unless it carries its own offset ("…Z", "…+01:00").

    A wall time that a zone skips or repeats (a daylight-saving change) is read with the
    offset in force before the change."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC).replace(tzinfo=None)
