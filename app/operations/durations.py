"""Seconds between two stored instants, in SQL, exact to the microsecond on both databases.

SQLite's date functions keep milliseconds at best (``julianday`` less), so there the
whole seconds come from ``strftime('%s')`` and the microseconds from the stored text
(SQLAlchemy stores ``YYYY-MM-DD HH:MM:SS.ffffff``); a value without them counts 0.
``julianday`` would lose the microseconds that decide a rule tripping at its limit.
"""

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class seconds_between(FunctionElement):  # noqa: N801 (an SQL function, named like one)
    """SQL: ``later - earlier`` in seconds (a float); NULL if either is NULL."""

    type = sa.Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between, "postgresql")
def _postgresql(element, compiler, **kw):
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) AS DOUBLE PRECISION)"


@compiles(seconds_between)
def _sqlite(element, compiler, **kw):
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"({_whole(later)} - {_whole(earlier)} + ({_micro(later)} - {_micro(earlier)}) / 1e6)"


def _whole(text):
    # Only the first 19 characters: strftime rounds a fraction to milliseconds first,
    # so .999999 would count as the next second.
    return f"CAST(strftime('%s', substr({text}, 1, 19)) AS INTEGER)"


def _micro(text):
    return f"CAST(substr({text}, 21, 6) AS INTEGER)"
