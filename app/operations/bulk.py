"""Many rows as one bound relation: set-based writes in one short statement.

A batch of rows travels as one parameter per column (PostgreSQL: arrays expanded by
``unnest``) or as one JSON document (SQLite: ``json_each``). The statement text does not
grow with the batch, so it is compiled once by SQLAlchemy and prepared once by the driver,
and the database does the work in one round trip instead of one statement per row.
"""

import json

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from app.extensions import db


def relation(name, columns, rows):
    """``rows`` (sequences in ``columns`` order) as a FROM-able relation called ``name``.

    ``columns`` is a list of (column name, SQLAlchemy type). Values must be JSON-able
    (numbers, strings, None, dicts for JSON columns): pass timestamps as constants.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        arrays = [
            sa.bindparam(
                f"{name}_{column}", [row[i] for row in rows], type_=postgresql.ARRAY(type_)
            )
            for i, (column, type_) in enumerate(columns)
        ]
        return (
            sa.func.unnest(*arrays)
            .table_valued(*[sa.column(column, type_) for column, type_ in columns])
            .render_derived(name=name)
        )
    each = sa.func.json_each(
        sa.bindparam(f"{name}_rows", json.dumps([list(row) for row in rows]))
    ).table_valued("value")
    return sa.select(
        *[
            sa.type_coerce(sa.func.json_extract(each.c.value, f"$[{i}]"), type_).label(column)
            for i, (column, type_) in enumerate(columns)
        ]
    ).subquery(name)


def insert_rows(table, columns, rows, **constants):
    """The INSERT of ``rows`` into ``table`` (``constants`` fill further columns), as a
    statement: execute it, or use it as a CTE with ``.returning()`` on PostgreSQL."""
    source = relation(f"new_{table.name}", [(c, table.c[c].type) for c in columns], rows)
    selected = [source.c[column] for column in columns]
    selected += [sa.literal(value, table.c[key].type) for key, value in constants.items()]
    return sa.insert(table).from_select([*columns, *constants], sa.select(*selected))
