"""Each worker report costs a fixed, small number of statements (no read-back, no N+1)."""

import sqlalchemy as sa

from app.models import RunChange
from app.operations.clock import isoformat
from tests.conftest import counted, kinds

# Reads: the tenant (create) or the run with its tenant (reports); the token was verified
# by the first call and is kept by the process (API_TOKEN_CACHE_SECONDS, see
# test_token_cache.py). Writes on SQLite: the run's INSERT or compare-and-set RETURNING,
# [its events], its feed row. On PostgreSQL all of those are one statement (with the NOTIFY),
# and a heartbeat's checks are made by that statement too: no read.
READS = 1


def heartbeat_reads(db):
    return 0 if db.engine.dialect.name == "postgresql" else READS


def writes(db, events):
    if db.engine.dialect.name == "postgresql":
        return 1
    return 1 + (1 if events else 0) + 1


def statements(db, call):
    db.session.expunge_all()  # nothing loaded beforehand: the request loads what it needs
    with counted(db) as seen:
        response = call()
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    return len(seen), response.get_json()


def test_reports_cost_a_fixed_number_of_statements(app, api, db, tenant, clock):
    app.config["API_TOKEN_CACHE_SECONDS"] = 3600  # the token is read once, by this call:
    api.get("/api/v1/runs")  # its last use is recorded once a minute, not counted

    n, run = statements(
        db,
        lambda: api.post(
            "/api/v1/runs",
            json={"type": "baseline_compare", "tenant": "contoso", "status": "running"},
        ),
    )
    assert n == READS + writes(db, events=True)
    assert run["tenant"]["slug"] == "contoso"
    url = f"/api/v1/runs/{run['id']}"

    n, body = statements(db, lambda: api.post(f"{url}/heartbeat", json={}))
    assert n == heartbeat_reads(db) + writes(db, events=True)  # the first one is an event
    assert body["tenant"]["slug"] == "contoso" and body["last_heartbeat_at"] is not None

    clock.advance(seconds=5)
    n, body = statements(db, lambda: api.post(f"{url}/heartbeat", json={}))
    assert n == heartbeat_reads(db) + writes(db, events=False)  # a plain one adds none
    assert body["last_heartbeat_at"] == isoformat(clock.now())  # the answer is the new row

    n, body = statements(db, lambda: api.post(f"{url}/complete", json={"outcome": "succeeded"}))
    assert n == READS + writes(db, events=True)
    assert (body["status"], body["outcome"], body["tenant"]["slug"]) == (
        "completed",
        "succeeded",
        "contoso",
    )
    # Fewer statements, nothing less written: the timeline and one feed row per report.
    assert kinds(db, run["id"]) == ["created", "started", "heartbeat", "completed"]
    feed = sa.select(sa.func.count()).where(RunChange.run_id == run["id"])
    assert db.session.scalar(feed) == 4
