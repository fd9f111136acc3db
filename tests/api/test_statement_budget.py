"""Each worker report costs a fixed, small number of statements (no read-back, no N+1)."""

from app.operations.clock import isoformat
from tests.web.test_query_budget import counted

# token, tenant, INSERT run RETURNING, events, feed row (+ NOTIFY on PostgreSQL)
CREATE = 5
# token, run with its tenant, compare-and-set RETURNING, [event], feed row
REPORT = 4


def statements(db, call):
    db.session.expunge_all()  # nothing loaded beforehand: the request loads what it needs
    with counted(db) as seen:
        response = call()
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    return len(seen), response.get_json()


def test_reports_cost_a_fixed_number_of_statements(api, db, tenant, clock):
    api.get("/api/v1/runs")  # the token's last use is recorded once a minute, not counted

    n, run = statements(
        db,
        lambda: api.post(
            "/api/v1/runs",
            json={"type": "baseline_compare", "tenant": "contoso", "status": "running"},
        ),
    )
    assert n == CREATE
    assert run["tenant"]["slug"] == "contoso"
    url = f"/api/v1/runs/{run['id']}"

    n, body = statements(db, lambda: api.post(f"{url}/heartbeat", json={}))
    assert n == REPORT + 1  # the first heartbeat is kept on the timeline
    assert body["tenant"]["slug"] == "contoso" and body["last_heartbeat_at"] is not None

    clock.advance(seconds=5)
    n, body = statements(db, lambda: api.post(f"{url}/heartbeat", json={}))
    assert n == REPORT  # a plain heartbeat adds no event
    assert body["last_heartbeat_at"] == isoformat(clock.now())  # the answer is the new row

    n, body = statements(db, lambda: api.post(f"{url}/complete", json={"outcome": "succeeded"}))
    assert n == REPORT + 1
    assert (body["status"], body["outcome"], body["tenant"]["slug"]) == (
        "completed",
        "succeeded",
        "contoso",
    )
