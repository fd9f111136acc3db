"""Many rows as one bound relation: set-based writes in one short statement.

A batch of rows travels as one JSON document, expanded by the database
(``json_array_elements`` on PostgreSQL, ``json_each`` on SQLite). The statement text does
not grow with the batch, so it is compiled once by SQLAlchemy and prepared once by the
driver, and the database does the work in one round trip instead of one statement per row.
"""

import json

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from app.extensions import db


def relation(name, columns, rows):
    """``rows`` (sequences in ``columns`` order) as a FROM-able relation called ``name``.

    ``columns`` is a list of (column name, SQLAlchemy type). Values must be JSON-able
    (numbers, strings, None, dicts for JSON columns): pass timestamps as constants. The
    rows travel as one JSON document (json.dumps runs in C; the database expands it).
    """
    document = sa.bindparam(f"{name}_rows", json.dumps([list(row) for row in rows]))
    if db.session.get_bind().dialect.name == "postgresql":
        each = sa.func.json_array_elements(sa.cast(document, postgresql.JSON)).table_valued("value")

        def column(i, type_):
            if isinstance(type_, sa.JSON):
                return sa.type_coerce(each.c.value.op("->")(i), type_)
            return sa.cast(each.c.value.op("->>")(i), type_)

    else:
        each = sa.func.json_each(document).table_valued("value")

        def column(i, type_):
            return sa.type_coerce(sa.func.json_extract(each.c.value, f"$[{i}]"), type_)

    return sa.select(
        *[column(i, type_).label(name) for i, (name, type_) in enumerate(columns)]
    ).subquery(name)


def insert_rows(table, columns, rows, **constants):
    """The INSERT of ``rows`` into ``table`` (``constants`` fill further columns), as a
    statement: execute it, or use it as a CTE with ``.returning()`` on PostgreSQL."""
    source = relation(f"new_{table.name}", [(c, table.c[c].type) for c in columns], rows)
    selected = [source.c[column] for column in columns]
    selected += [sa.literal(value, table.c[key].type) for key, value in constants.items()]
    return sa.insert(table).from_select([*columns, *constants], sa.select(*selected))
