"""Many rows as one bound relation: set-based writes in one short statement.

A batch of rows travels as one JSON document, expanded by the database (the RunStore of
the session's database builds it). The statement text does not grow with the batch, so
it is compiled once by SQLAlchemy and prepared once by the driver, and the database does
the work in one round trip instead of one statement per row.
"""

from app.operations.store import run_store


def relation(name, columns, rows):
    """``rows`` (sequences in ``columns`` order) as a FROM-able relation called ``name``.

    ``columns`` is a list of (column name, SQLAlchemy type). Values must be JSON-able
    (numbers, strings, None, dicts for JSON columns): pass timestamps as constants.
    """
    return run_store().relation(name, columns, rows)


def insert_rows(table, columns, rows, **constants):
    """The INSERT of ``rows`` into ``table`` (``constants`` fill further columns), as a
    statement: execute it, or use it as a CTE with ``.returning()`` on PostgreSQL."""
    return run_store().insert_rows(table, columns, rows, **constants)
