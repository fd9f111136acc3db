"""The bound parts of a list's search, created-at range and duration order: their
parameter names and values. Private to ``app.operations.reads``; what a search looks for
and how is ``app.operations.search``."""

import sqlalchemy as sa

from app.models import OperationRun
from app.operations import search as sr
from app.operations import text_index


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
    index unless not ``trigrams``, see ``sr.text_contains``)."""
    by_id = model.id == sa.bindparam("search_id", type_=sa.Integer, required=True)
    if kind == sr.BY_ID:
        return by_id
    # Written into the SQL text: a generic plan over a bound pattern cannot use the
    # trigram index and reads every run.
    pattern = sa.bindparam("search_pattern", type_=sa.String, required=True, literal_execute=True)
    text = sr.text_contains(pattern, model, trigrams)
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
