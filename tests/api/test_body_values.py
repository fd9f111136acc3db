"""What a JSON body's values may hold (no NUL, at most MAX_NESTING levels), whichever way
the body is checked: bodies without a NUL escape or a zero byte visit only their containers."""

import json

import pytest

from app.blueprints.api.body import MAX_NESTING
from tests.api.conftest import error_of, writes_nothing
from tests.factories import make_run

URL = "/api/v1/runs"
JSON = {"Content-Type": "application/json"}


def _nested(depth):
    """A ``context`` whose innermost list lies ``depth`` levels down (the context is 1)."""
    value = []
    for _ in range(depth - 2):
        value = [value]
    return {"n": value}


def _body(depth, note):
    return json.dumps({"type": "inventory_sync", "context": _nested(depth), "initiator": note})


# "a\\\\u0000b" is a backslash and the text u0000, no NUL: the full check runs and passes.
@pytest.mark.parametrize("note", ["plain", "a\\u0000b"])
def test_nesting_at_the_limit_is_taken_and_one_more_level_refused(api, db, note):
    assert api.post(URL, data=_body(MAX_NESTING, note), headers=JSON).status_code == 201
    with writes_nothing(db):
        answer = api.post(URL, data=_body(MAX_NESTING + 1, note), headers=JSON)
        error = error_of(answer, 422, "validation_failed")
    assert error["fields"] == {"context": f"must not nest more than {MAX_NESTING} levels"}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
def test_a_nul_is_refused_in_any_encoding_json_reads(api, db, encoding):
    raw = json.dumps({"type": "inventory_sync", "initiator": "a\x00b"}).encode(encoding)
    assert b"\\u0000" in raw or encoding != "utf-8"
    with writes_nothing(db):
        error = error_of(api.post(URL, data=raw, headers=JSON), 422, "validation_failed")
    assert error["fields"] == {"initiator": "must not contain NUL characters"}


def test_a_nul_in_a_batch_item_refuses_the_batch(api, db, clock, workspace):
    run = make_run(workspace, now=clock.now())
    db.session.commit()
    items = [{"run_id": run.id, "processed": 1}, {"run_id": run.id, "note\x00": 1}]
    with writes_nothing(db):
        error = error_of(api.post("/api/v1/heartbeats", json={"items": items}), 422)
    assert error["fields"] == {"items": "must not contain NUL characters"}
