"""Finding runs: text search, a created-at range and the order of a list page.

Text search looks in what people remember about a run: its initiator, its context values
and its messages (the worker's and the reconciler's), case-insensitively, as a substring.
On PostgreSQL a trigram index over the same expression (migration 0009) serves it, on
SQLite an FTS5 trigram table narrows the runs the LIKE reads and holds the text it reads
(``text_index``). The searched text as SQL, the clauses and their bound parameters are the
read interface's (``app.operations.reads.search``).
"""

import base64
import binascii
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from app.operations import text_index

SORT_CREATED, SORT_DURATION = "created", "duration"
SORTS = (SORT_CREATED, SORT_DURATION)
MAX_SEARCH = 200


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
    text index narrows it), the arguments of the read interface's search clause."""
    return search_kind(text), text_index.narrows(text)


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
