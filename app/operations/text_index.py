"""Narrowing a list's text search with SQLite's trigram index (``app.models.run_search``).

Without it, SQLite finds a text that few runs hold, or none, by reading every run of the
workspace. With it, ``candidates_clause`` keeps only the runs whose indexed text holds the
searched text as a phrase of trigrams; the search's LIKE and the list's scoped WHERE still
apply on top, so the index can only narrow the candidates, never widen the results.

The index folds case at least as far as LIKE does (ASCII letters, and more), and a phrase
is matched as a substring, so every run the LIKE finds is a candidate. Trigrams cannot
find a text shorter than three characters: such a search keeps the plain scan, and so
does a text that many runs hold (``narrows``): the list's own order finds a page of those
sooner than the index finds them all.
PostgreSQL renders the clause as true: its own trigram index serves the LIKE there.
"""

import sqlalchemy as sa
from flask import has_request_context, request
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from app.extensions import db
from app.models.run_search import TABLE

MIN_CHARS = 3  # a trigram index cannot match less
# A text held by fewer runs than this is found through the index: reading that many runs
# by id costs a few milliseconds. A commoner text fills a page (and the count up to 100)
# sooner by reading the list in its own order, as without the index.
RARE_BELOW = 1000
_KNOWN = "runwarden.text_index_rare"  # per request: a page asks for several queries
_PROBE = sa.text(
    f"SELECT count(*) FROM (SELECT 1 FROM {TABLE} WHERE {TABLE} MATCH :phrase LIMIT :cap)"
)


def indexable(text):
    """Whether the index can narrow a search for ``text`` (else the scan decides alone)."""
    needle = text.lower()
    return (
        len(needle) >= MIN_CHARS
        and "\x00" not in needle
        and not any("\ud800" <= char <= "\udfff" for char in needle)
    )


def narrows(text):
    """Whether a search for ``text`` should read the runs the index gives (SQLite, a text
    of three characters or more that fewer than ``RARE_BELOW`` runs hold). Either answer
    gives the same runs; it only chooses the faster plan (asked once per request)."""
    if not indexable(text) or db.session.get_bind().dialect.name != "sqlite":
        return False
    phrase = match_phrase(text)
    known = request.environ.setdefault(_KNOWN, {}) if has_request_context() else {}
    if phrase not in known:
        try:
            held = db.session.scalar(_PROBE, {"phrase": phrase, "cap": RARE_BELOW})
        except sa.exc.OperationalError:  # a database migrated before 0012
            held = RARE_BELOW
        known[phrase] = held < RARE_BELOW
    return known[phrase]


def match_phrase(text):
    """``text`` as one FTS5 phrase, every character literal (" * : ^ NEAR AND OR ...)."""
    return '"' + text.lower().replace('"', '""') + '"'


class candidates_clause(ColumnElement):
    """Runs of ``model`` whose indexed text holds the phrase bound as ``:search_phrase``."""

    # Untyped: a Boolean would be compared "= 1" on SQLite, and the planner would not
    # read the runs by id then.
    type = sa.types.NullType()
    inherit_cache = True
    _traverse_internals = [
        ("model_id", InternalTraversal.dp_clauseelement),
        ("phrase", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, model_id):
        self.model_id = model_id
        self.phrase = sa.bindparam("search_phrase", type_=sa.String, required=True)


@compiles(candidates_clause)
def _candidates_sqlite(element, compiler, **kw):
    return (
        f"{compiler.process(element.model_id, **kw)} IN (SELECT rowid FROM {TABLE} "
        f"WHERE {TABLE} MATCH {compiler.process(element.phrase, **kw)})"
    )


@compiles(candidates_clause, "postgresql")
def _candidates_postgresql(element, compiler, **kw):
    return "true"
