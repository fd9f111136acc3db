"""SQLite's trigram text index: same results as the LIKE search, kept up by triggers."""

import random

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from app.extensions import db as _db
from app.models import OperationRun, RunEvent
from app.models.run_search import document
from app.models.runs import SEARCH_DOCUMENT
from app.operations import search as sr
from app.operations import text_index
from app.operations.queries import RunFilters
from app.operations.reads import RunReads
from app.operations.reads import search as rs
from app.operations.visibility import scope_for_user
from bench import generate
from reconciler.maintenance import refresh_statistics
from tests.conftest import T0
from tests.factories import make_member, make_run, make_tenant, make_user, make_workspace

HOSTILE = [
    '"',
    '""',
    "'",
    "''",
    "%",
    "%%",
    "_",
    "__",
    "\\",
    "\\%",
    "*",
    "a*",
    "ab*",
    ":",
    "^",
    "NEAR",
    "near(",
    "NEAR(a b)",
    "AND",
    "OR",
    "NOT",
    "a OR b",
    "x AND y",
    "(",
    ")",
    "-",
    "+",
    "{",
    "}",
    "col:val",
    "^start",
    'say "hi"',
    "100%",
    "a_b",
    "it's",
    "é",
    "É",
    "ÉCOLE",
    "straße",
    "STRASSE",
    "İstanbul",
    "x" * 200,
    "   ",
    "\t",
]
ALPHABET = list("abcXYZ é É ß İ%_\\'\"*:^()-+.,{}0123456789") + [" NEAR ", " AND ", " OR "]


def random_text(rng, low=0, high=40):
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(low, high)))


def found(text, indexed):
    kind = sr.search_kind(text)
    query = sa.select(OperationRun.id).where(rs.search_clause(kind, indexed))
    return set(_db.session.scalars(query, rs.search_params(text)))


def found_in_columns(text):
    """What the search finds by the LIKE over the run's own columns (``search_document``)."""
    document = rs.search_document().like(sr.like_pattern(text), escape="\\")
    run_id = sr.run_id_in(text)
    where = {sr.BY_TEXT: document, sr.BY_ID: OperationRun.id == run_id}.get(
        sr.search_kind(text), sa.or_(OperationRun.id == run_id, document)
    )
    return set(_db.session.scalars(sa.select(OperationRun.id).where(where)))


def candidates(text):
    phrase = sa.bindparam("phrase", type_=sa.String)
    query = sa.select(OperationRun.id).where(text_index.candidates_clause(OperationRun.id, phrase))
    return set(_db.session.scalars(query, {"phrase": text_index.match_phrase(text)}))


def indexed_ids(phrase):
    sql = "SELECT rowid FROM run_search WHERE run_search MATCH :p"
    return set(_db.session.scalars(sa.text(sql), {"p": text_index.match_phrase(phrase)}))


def test_index_and_like_agree_over_generated_and_hostile_texts(sqlite_app):
    rng = random.Random(15)
    ws = make_workspace()
    docs = []
    for i in range(80):
        fields = dict(
            initiator=random_text(rng) or None,
            failure_message=random_text(rng, 0, 120) or None,
            reconciliation_message=random_text(rng) if i % 3 == 0 else None,
            context={"k": random_text(rng), "n": i} if i % 2 else None,
        )
        docs.append(" ".join(str(v) for v in fields.values() if v))
        make_run(ws, None, now=T0, status="completed", **fields)
    _db.session.commit()
    needles = list(HOSTILE)
    for doc in docs:  # substrings that are there, in another case, and random ones
        start = rng.randint(0, max(0, len(doc) - 3))
        piece = doc[start : start + rng.randint(1, 12)]
        needles += [piece, piece.upper(), piece.swapcase(), random_text(rng, 1, 8)]
    narrowed = 0
    for needle in needles:
        if not needle:
            continue
        by_like = found(needle, indexed=False)
        assert by_like == found_in_columns(needle), needle  # the stored text is the runs'
        assert found(needle, indexed=text_index.indexable(needle)) == by_like, needle
        if text_index.indexable(needle):
            assert candidates(needle) >= by_like, needle  # narrows, never loses a run
            narrowed += bool(by_like)
    assert narrowed > 40  # the index really served searches that found runs


def test_the_search_sql_uses_the_index_only_from_three_characters(sqlite_app):
    def sql(text):
        clause = rs.search_clause(*sr.search_shape(text))
        return str(clause.compile(_db.engine))

    assert "run_search MATCH" in sql("abc")
    assert "run_search MATCH" in sql("1234")  # a bare number: an id or a text
    assert "run_search MATCH" not in sql("ab")
    assert "run_search MATCH" not in sql("#1234")  # an id alone
    assert text_index.indexable("ÉÉÉ") and not text_index.indexable("é")
    assert not text_index.indexable("a\x00b")
    assert text_index.match_phrase('a "b" NEAR c*') == '"a ""b"" near c*"'


def test_short_texts_keep_the_scan_and_find_what_like_finds(sqlite_app):
    ws = make_workspace()
    run = make_run(ws, None, now=T0, initiator="Jo", failure_message="x_y 5%")
    make_run(ws, None, now=T0, initiator="someone else")
    _db.session.commit()
    for text in ("jo", "JO", "_", "%", "5%", "x_"):
        assert found(text, text_index.indexable(text)) == {run.id}, text
    assert found("o", False) == {run.id, run.id + 1}


def test_list_search_through_the_index_keeps_visibility(sqlite_app):
    ws, other = make_workspace(), make_workspace()
    a, b = make_tenant(ws), make_tenant(ws)
    viewer = make_user()
    make_member(viewer, ws, "viewer", tenants=[a])
    mine = make_run(ws, a, now=T0, failure_message="Disk QUOTA exceeded")
    make_run(ws, b, now=T0, failure_message="disk quota exceeded")  # not granted
    level = make_run(ws, None, now=T0, failure_message="disk quota exceeded")  # workspace-level
    make_run(other, None, now=T0, failure_message="disk quota exceeded")  # other workspace
    _db.session.commit()
    policy = sqlite_app.extensions["runwarden.policy"]
    reads = RunReads(scope_for_user(viewer, ws.id), policy, T0)
    page = reads.page(filters=RunFilters(text="quota EXCEEDED"))
    assert {r.id for r in page.runs} == {mine.id, level.id}  # a viewer sees workspace-level runs
    assert len(indexed_ids("quota exceeded")) == 4  # the index holds all four


def test_triggers_keep_the_index_on_insert_update_and_delete(sqlite_app):
    ws = make_workspace()
    run = make_run(ws, None, now=T0, initiator="alice", failure_message="Timeout talking to API")
    _db.session.commit()
    assert indexed_ids("timeout talking") == {run.id}
    assert indexed_ids("alice") == {run.id}

    run.failure_message = "Permission denied"
    _db.session.commit()
    assert indexed_ids("timeout talking") == set()
    assert indexed_ids("permission denied") == {run.id}
    # The search reads the stored text: it follows the update like the columns.
    assert found("timeout talking", False) == found_in_columns("timeout talking") == set()
    assert found("PERMISSION", False) == found_in_columns("PERMISSION") == {run.id}

    run.reconciliation_message = "Closed by the reconciler"
    run.context = {"ticket": "INC-4242"}
    _db.session.commit()
    assert indexed_ids("closed by the") == {run.id}
    assert indexed_ids("inc-4242") == {run.id}
    assert indexed_ids("permission denied") == {run.id}

    run.status, run.outcome = "completed", "failed"  # not a searched column
    _db.session.commit()
    assert indexed_ids("alice") == {run.id}

    _db.session.execute(sa.delete(RunEvent).where(RunEvent.run_id == run.id))
    _db.session.execute(sa.delete(OperationRun).where(OperationRun.id == run.id))
    _db.session.commit()
    assert indexed_ids("alice") == set()
    assert _db.session.scalar(sa.text("SELECT count(*) FROM run_search")) == 0


def test_the_bench_data_set_gets_its_index_rows(sqlite_app):
    at = T0
    ws, tenants, _owner = generate.seed_accounts(at)
    policy = sqlite_app.extensions["runwarden.policy"]
    generate.generate_runs(ws, tenants, policy, at, 300, active=20)
    expected = dict(
        _db.session.execute(sa.text(f"SELECT id, {document('')} FROM operation_runs")).all()
    )
    stored = dict(_db.session.execute(sa.text("SELECT rowid, document FROM run_search")).all())
    assert len(expected) == 300
    assert stored == expected
    some = next(text for text in expected.values() if "reported" in text)
    assert some and indexed_ids("reported")


def test_only_a_text_fewer_runs_hold_than_the_threshold_reads_through_the_index(
    sqlite_app, monkeypatch
):
    monkeypatch.setattr(text_index, "RARE_BELOW", 3)
    ws = make_workspace()
    for message in ("held twice", "held twice", "thrice held", "thrice held", "thrice held"):
        make_run(ws, None, now=T0, failure_message=message)
    _db.session.commit()
    assert text_index.narrows("HELD TWICE")  # 2 runs: one below the threshold
    assert not text_index.narrows("thrice held")  # 3 runs: at the threshold
    assert text_index.narrows("held nowhere")
    assert not text_index.narrows("he")  # too short for trigrams
    for text in ("held twice", "thrice held", "held nowhere"):
        assert found(text, text_index.narrows(text)) == found(text, False)
    assert len(found("thrice held", False)) == 3


def test_a_request_asks_the_index_once_per_text(sqlite_app, monkeypatch):
    asked = []
    real = _db.session.scalar

    def counting(statement, *args, **kwargs):
        if statement is text_index._PROBE:
            asked.append(args)
        return real(statement, *args, **kwargs)

    monkeypatch.setattr(_db.session, "scalar", counting)
    with sqlite_app.test_request_context("/"):
        assert text_index.narrows("abc") and text_index.narrows("abc")
        assert text_index.narrows("abd")
    assert len(asked) == 2
    with sqlite_app.test_request_context("/"):
        text_index.narrows("abc")
    assert len(asked) == 3


def test_sqlite_reads_the_runs_by_id_from_the_index(sqlite_app):
    """With its statistics (refreshed hourly by the embedded reconciler, and by the bench),
    SQLite reads the few runs the index names instead of every run of the workspace."""
    ws = make_workspace()
    for i in range(200):
        make_run(ws, None, now=T0, status="completed", initiator=f"user{i}")
    _db.session.commit()
    refresh_statistics(_db.engine)
    clause = rs.search_clause(sr.BY_TEXT, True)
    query = sa.select(OperationRun.id).where(OperationRun.workspace_id == 1, clause)
    seen = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    sa.event.listen(_db.engine, "before_cursor_execute", capture)
    try:
        _db.session.execute(query, rs.search_params("abc")).all()
    finally:
        sa.event.remove(_db.engine, "before_cursor_execute", capture)
    statement, parameters = seen[-1]
    raw = _db.session.connection().connection.dbapi_connection
    plan = raw.execute(f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()
    details = " | ".join(row[-1] for row in plan)
    assert "USING INTEGER PRIMARY KEY (rowid=?)" in details, details
    assert "VIRTUAL TABLE INDEX" in details, details


def test_the_searched_text_is_the_expression_postgresql_indexes():
    """The trigram index (migration 0009) serves the search only if it is built on the very
    expression the search compares."""
    expression = rs.search_document(OperationRun.__table__.c)
    text = str(expression.compile(dialect=postgresql.dialect()))
    assert text.replace("operation_runs.", "") == SEARCH_DOCUMENT
