"""Hostile URLs against the run API: path ids, query parameters, SQL-looking strings and
tokens. Every answer is a 4xx JSON error with a message and nothing is written (a list
query the API can read is the one exception: it answers 200 and shows nothing it should not).
"""

import json
from urllib.parse import quote

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from app.blueprints.api.schemas import ListQuery
from app.operations.queries import TABS, InvalidQuery, decode_cursor
from tests.security import strategies as s
from tests.security.hostile import BASE, HOSTILE, KNOWN


@HOSTILE
@given(
    payload=s.SQL_STRINGS,
    place=st.sampled_from(
        (
            "type",
            "tenant",
            "status",
            "outcome",
            "at",
            "q_tenant",
            "q_tab",
            "q_status",
            "q_cursor",
            "q_limit",
            "q_type",
            "path",
            "token",
        )
    ),
)
def test_sql_looking_strings(hostile, payload, place):
    kind = "sql_strings"
    if place in ("type", "tenant", "status"):
        assume(payload not in KNOWN)
        raw = json.dumps({**BASE["create"], place: payload})
        hostile.body(kind, "create", raw, (404, 422) if place == "tenant" else (422,))
    elif place == "outcome":
        hostile.body(kind, "complete", json.dumps({"outcome": payload}), (422,))
    elif place == "at":
        hostile.body(kind, "heartbeat", json.dumps({"at": payload}), (422,))
    elif place == "path":
        assume("/" not in payload)
        hostile.refused(kind, "GET", "/api/v1/runs/" + quote(payload, safe=""), (404,))
    elif place == "token":
        assume(payload.isprintable() and payload.isascii())
        hostile.refused(kind, "GET", "/api/v1/runs", (401,), token=payload)
    elif place == "q_type":
        response = hostile.send(kind, "GET", "/api/v1/runs", query_string={"type": payload})
        assert response.status_code in (200, 400), response.data[:300]
        if response.status_code == 200:
            assert response.get_json()["runs"] == []
    else:
        expect_query_refused(hostile, kind, {place[2:]: payload})


def expect_query_refused(hostile, kind, query):
    """GET /runs with ``query``; refused unless the cursor is one the API can read."""
    if "cursor" in query and "\x00" not in query["cursor"]:
        try:
            query["cursor"] and decode_cursor(query["cursor"])
        except InvalidQuery:
            pass
        else:
            response = hostile.send(kind, "GET", "/api/v1/runs", query_string=query)
            assert response.status_code == 200, response.data[:300]
            return
    hostile.refused(kind, "GET", "/api/v1/runs", (400, 404, 422), query_string=query)


@HOSTILE
@given(
    run_id=s.MISSING_IDS,
    action=st.sampled_from(("get", "start", "heartbeat", "complete")),
    foreign=st.booleans(),
)
def test_path_ids_out_of_range(hostile, run_id, action, foreign):
    if foreign:
        run_id = str(hostile.world.runs.other.id)
    path = "/api/v1/runs/" + quote(run_id, safe="")
    if action == "get":
        hostile.refused("path_ids", "GET", path, (404,))
    else:
        body = json.dumps(BASE[action])
        hostile.refused(
            "path_ids",
            "POST",
            f"{path}/{action}",
            (404,),
            data=body,
            content_type="application/json",
        )


def _limit_is_valid(value):
    try:
        ListQuery.model_validate({"limit": value})
    except ValueError:
        return False
    return True


@HOSTILE
@given(
    data=st.data(),
    name=st.sampled_from(
        ("limit", "cursor", "tab", "tenant", "status", "unknown", "repeated", "nul")
    ),
)
def test_query_params(hostile, data, name):
    kind = "query_params"
    if name == "limit":
        value = data.draw(
            st.one_of(
                st.integers().filter(lambda n: not 1 <= n <= 200).map(str),
                st.sampled_from(
                    (
                        str(2**63),
                        "99999999999999999999",
                        "1e3",
                        "5.0",
                        "NaN",
                        "",
                        "ten",
                        "0x10",
                        "١٠",
                        "-0",
                    )
                ),
                st.text(max_size=12),
            )
        )
        assume(not _limit_is_valid(value))
        hostile.refused(kind, "GET", "/api/v1/runs", (400, 422), query_string={"limit": value})
    elif name == "cursor":
        expect_query_refused(hostile, kind, {"cursor": data.draw(s.CURSORS)})
    elif name in ("tab", "tenant", "status"):
        value = data.draw(st.text(max_size=120) | s.SQL_STRINGS)
        assume(value not in (*TABS, "alpha", "bravo", "queued", "running", "completed"))
        assume(value not in {t.uuid for t in (hostile.world.a, hostile.world.b)})
        hostile.refused(kind, "GET", "/api/v1/runs", (400, 404, 422), query_string={name: value})
    elif name == "unknown":
        key = data.draw(st.text(min_size=1, max_size=20))
        assume(key not in ListQuery.model_fields)
        hostile.refused(kind, "GET", "/api/v1/runs", (400, 422), query_string={key: "1"})
    elif name == "repeated":
        key = data.draw(st.sampled_from(sorted(ListQuery.model_fields)))
        query = [(key, "all" if key == "tab" else "1"), (key, "2")]
        hostile.refused(kind, "GET", "/api/v1/runs", (422,), query_string=query)
    else:
        key = data.draw(st.sampled_from(sorted(ListQuery.model_fields)))
        value = data.draw(s.UNSTORABLE_TEXT.filter(lambda text: "\x00" in text))
        value = value.encode("utf-8", "replace").decode()
        error = hostile.refused(kind, "GET", "/api/v1/runs", (400,), query_string={key: value})
        assert "NUL" in error["message"]


PRINTABLE = st.characters(min_codepoint=0x20, max_codepoint=0xFF).filter(lambda c: c != "\x7f")


@HOSTILE
@given(data=st.data(), form=st.sampled_from(("any", "bearer", "marked", "altered", "other")))
def test_hostile_tokens(hostile, data, form):
    own = hostile.world.tokens.own
    if form == "any":
        header = data.draw(st.text(alphabet=PRINTABLE, max_size=300))
    elif form == "bearer":
        header = "Bearer " + data.draw(st.text(alphabet=PRINTABLE, max_size=300))
    elif form == "marked":
        header = "Bearer rw_" + data.draw(st.text(alphabet=PRINTABLE, max_size=300))
    elif form == "altered":
        at = data.draw(st.integers(0, len(own) - 1))
        char = data.draw(PRINTABLE.filter(lambda c: c != own[at] and not c.isspace()))
        header = "Bearer " + data.draw(
            st.sampled_from(
                (own[:at] + char + own[at + 1 :], own[:at], own + char, own.upper(), own.swapcase())
            )
        )
    else:
        target = hostile.world.runs.running.id
        hostile.refused(
            "tokens", "GET", f"/api/v1/runs/{target}", (404,), token=hostile.world.tokens.other
        )
        return
    assume(header.partition(" ")[2].strip() != own)
    hostile.refused(
        "tokens",
        "GET",
        f"/api/v1/runs/{hostile.world.runs.running.id}",
        (401,),
        headers={"Authorization": header},
    )


@pytest.mark.parametrize(
    "query", [{"tenant": "alpha\x00"}, {"type": "inventory_sync\x00"}, {"cursor": "\x00"}]
)
def test_found_queries_stay_refused(hostile, query):
    hostile.refused("found", "GET", "/api/v1/runs", (400,), query_string=query)
