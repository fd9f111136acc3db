"""Statement shapes that make SQLite's planner take the index a statement needs.

SQLite keeps no planner figures for partial indexes (``reconciler.maintenance``), so where
two partial indexes could serve a statement it may pick the one that reads more. These
elements change which index a term can use, never what the term means; PostgreSQL, which
keeps its own figures, gets the plain expression.
"""

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.visitors import InternalTraversal


class no_index_range(sa.sql.ColumnElement):  # noqa: N801 (an SQL expression, named like one)
    """``column`` as a value that no index range is read by: on SQLite ``+column`` (the unary
    plus is a no-op on every value, text included, and it takes no column affinity away
    from a comparison of two texts), elsewhere ``column`` itself.

    A window on ``completed_at`` written so leaves SQLite free to read the follow-ups in the
    list's order (``ix_runs_follow_up_created``, the window checked in the index) instead
    of the whole window by ``completed_at`` and then sorting it."""

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]

    def __init__(self, column):
        self.column = column
        self.type = column.type


@compiles(no_index_range)
def _no_index_range_sqlite(element, compiler, **kw):
    return f"+{compiler.process(element.column, **kw)}"


@compiles(no_index_range, "postgresql")
def _no_index_range_postgresql(element, compiler, **kw):
    return compiler.process(element.column, **kw)


class generic_plan_bound(sa.sql.ColumnElement):  # noqa: N801 (an SQL expression, named like one)
    """An upper bound on ``column`` that no value reaches (``< 9999-01-01``), on PostgreSQL
    only (elsewhere ``1 = 1``): true of every run, so it changes no result.

    PostgreSQL's generic plans (``plan_cache_mode=force_generic_plan``, ``app.postgres``)
    estimate a one-sided range on a parameter (``created_at >= $1``) as a third of the table
    and read a day of runs in the duration order by a sequential scan of every run; a range
    bounded on both sides is estimated as a narrow one and read by its index."""

    inherit_cache = True
    type = sa.Boolean()
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]

    def __init__(self, column):
        self.column = column


@compiles(generic_plan_bound)
def _generic_plan_bound_default(element, compiler, **kw):
    return "1 = 1"


@compiles(generic_plan_bound, "postgresql")
def _generic_plan_bound_postgresql(element, compiler, **kw):
    return f"{compiler.process(element.column, **kw)} < '9999-01-01'"
