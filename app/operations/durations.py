"""Seconds between two stored instants, in SQL, exact to the microsecond on both databases.

SQLite's date functions keep milliseconds at best, so there the whole seconds come from
``julianday`` of the text up to the seconds (rounded: a day's fraction in a double is
off by far less than half a second) and the microseconds from the stored text
(SQLAlchemy stores ``YYYY-MM-DD HH:MM:SS.ffffff``); a value without them counts 0. The
microseconds decide a rule tripping at its limit.
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
    # date_part is float8 already; EXTRACT answers numeric (PostgreSQL 14+), far slower.
    return f"date_part('epoch', {later} - {earlier})"


@compiles(seconds_between)
def _sqlite(element, compiler, **kw):
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    whole = (
        f"round((julianday(substr({later}, 1, 19)) - julianday(substr({earlier}, 1, 19))) * 86400)"
    )
    return f"({whole} + ({_micro(later)} - {_micro(earlier)}) / 1e6)"


def _micro(text):
    return f"CAST(substr({text}, 21, 6) AS INTEGER)"


class least(FunctionElement):  # noqa: N801 (an SQL function, named like one)
    """SQL: the smallest of two or more values (NULL if any is NULL on SQLite: pass
    values that are never NULL)."""

    inherit_cache = True
    name = "least"


@compiles(least, "postgresql")
def _postgresql_least(element, compiler, **kw):
    return f"LEAST({compiler.process(element.clauses, **kw)})"


@compiles(least)
def _sqlite_least(element, compiler, **kw):
    # min() of two or more arguments is SQLite's scalar minimum (of one, an aggregate).
    return f"min({compiler.process(element.clauses, **kw)})"
