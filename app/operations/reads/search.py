"""The SQL of a list's search, created-at range and duration order: the searched text,
the clauses, their parameter names and values. Private to ``app.operations.reads``; what
a search looks for (its kind, pattern, phrase) is ``app.operations.search``."""

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.visitors import InternalTraversal

from app.models import OperationRun
from app.operations import search as sr
from app.operations import text_index


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


class text_contains(sa.sql.ColumnElement):  # noqa: N801 (an SQL expression, named like one)
    """SQL: the searched text of a run of ``model`` matches the LIKE ``pattern`` (a clause).

    On SQLite it is matched in the text the index table stores for the run
    (``text_index.stored_text_like``): exactly ``search_document``, kept by triggers, and
    three times cheaper to read than the run's own columns. On PostgreSQL it is matched in
    ``search_document``, which its trigram index serves; without ``trigrams`` it is
    written so that the index cannot serve it: a list bounded by its own index (active
    runs, the follow-up window) reads those few runs sooner than the trigram index finds
    every run holding a common text."""

    type = sa.types.NullType()  # as candidates_clause: a Boolean would be compared "= 1"
    inherit_cache = True
    _traverse_internals = [
        ("run_id", InternalTraversal.dp_clauseelement),
        ("document", InternalTraversal.dp_clauseelement),
        ("pattern", InternalTraversal.dp_clauseelement),
        ("trigrams", InternalTraversal.dp_boolean),
    ]

    def __init__(self, pattern, model=OperationRun, trigrams=True):
        self.run_id, self.document = model.id, search_document(model)
        self.pattern, self.trigrams = pattern, trigrams


@compiles(text_contains)
def _text_contains_sqlite(element, compiler, **kw):
    clause = text_index.stored_text_like(element.run_id, element.pattern)
    return compiler.process(clause, **kw)


@compiles(text_contains, "postgresql")
def _text_contains_postgresql(element, compiler, **kw):
    document = element.document
    if not element.trigrams:
        document = document.op("||")(sa.literal_column("''"))
    return compiler.process(document.like(element.pattern, escape="\\"), **kw)


def search_params(text):
    """The bound values of ``search_clause(*sr.search_shape(text))``."""
    values = {"search_pattern": sr.like_pattern(text), "search_id": sr.run_id_in(text)}
    if text_index.indexable(text):
        values["search_phrase"] = text_index.match_phrase(text)
    return values


def search_clause(kind, indexed=False, trigrams=True, model=OperationRun):
    """Runs found by a search of ``kind`` (``sr.search_kind``): whose id is ``:search_id``
    and/or whose text contains ``:search_pattern`` (on SQLite, when ``indexed``, among the
    runs its text index gives for ``:search_phrase``; on PostgreSQL through its trigram
    index unless not ``trigrams``, see ``text_contains``)."""
    by_id = model.id == sa.bindparam("search_id", type_=sa.Integer, required=True)
    if kind == sr.BY_ID:
        return by_id
    # Written into the SQL text: a generic plan over a bound pattern cannot use the
    # trigram index and reads every run.
    pattern = sa.bindparam("search_pattern", type_=sa.String, required=True, literal_execute=True)
    text = text_contains(pattern, model, trigrams)
    if indexed:
        phrase = sa.bindparam("search_phrase", type_=sa.String, required=True)
        text = sa.and_(text_index.candidates_clause(model.id, phrase), text)
    return text if kind == sr.BY_TEXT else sa.or_(by_id, text)


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


def duration_key(model=OperationRun):
    """A run's duration in seconds at ``:sort_now`` (-1 while queued): the duration order."""
    now = sa.bindparam("sort_now", type_=sa.DateTime, required=True)
    end = sa.func.coalesce(model.completed_at, now)
    return sa.func.coalesce(sr.seconds_between(model.started_at, end), -1.0)
