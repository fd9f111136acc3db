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

Every SQLite search, narrowed or not, matches its LIKE in the text the table stores for a
run (``stored_text_like``) rather than building it again from the run's columns.
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
CONTENT = f"{TABLE}_content"  # FTS5's own table of the indexed texts, by rowid
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
    """Runs of ``model`` whose indexed text holds the FTS5 ``phrase`` (a clause)."""

    # Untyped: a Boolean would be compared "= 1" on SQLite, and the planner would not
    # read the runs by id then.
    type = sa.types.NullType()
    inherit_cache = True
    _traverse_internals = [
        ("model_id", InternalTraversal.dp_clauseelement),
        ("phrase", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, model_id, phrase):
        self.model_id, self.phrase = model_id, phrase


@compiles(candidates_clause)
def _candidates_sqlite(element, compiler, **kw):
    return (
        f"{compiler.process(element.model_id, **kw)} IN (SELECT rowid FROM {TABLE} "
        f"WHERE {TABLE} MATCH {compiler.process(element.phrase, **kw)})"
    )


@compiles(candidates_clause, "postgresql")
def _candidates_postgresql(element, compiler, **kw):
    return "true"


class stored_text_like(ColumnElement):
    """SQLite: the text the index stores for run ``run_id`` matches the LIKE ``pattern``.

    FTS5 keeps each row's text in its content table (``<table>_content``: ``id`` the
    rowid, ``c0`` the first column; SQLite's documented shadow-table layout), here the
    lower-cased ``search_document`` of the run, kept by the triggers. Reading that one short
    text by the run's id costs a third of building it again from the run's columns."""

    type = sa.types.NullType()  # as candidates_clause: a Boolean would be compared "= 1"
    inherit_cache = True
    _traverse_internals = [
        ("run_id", InternalTraversal.dp_clauseelement),
        ("pattern", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, run_id, pattern):
        self.run_id, self.pattern = run_id, pattern


@compiles(stored_text_like)
def _stored_text_like_sqlite(element, compiler, **kw):
    return (
        f"EXISTS (SELECT 1 FROM {CONTENT} WHERE {CONTENT}.id = "
        f"{compiler.process(element.run_id, **kw)} AND {CONTENT}.c0 LIKE "
        f"{compiler.process(element.pattern, **kw)} ESCAPE '\\')"
    )
