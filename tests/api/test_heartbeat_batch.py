"""POST /api/v1/heartbeats: per-item answers, in order, with the single call's rules."""

import threading

import pytest
import sqlalchemy as sa

from app.extensions import db as _db
from app.models import OperationRun, RunChange, RunEvent
from tests.api.conftest import ApiClient, error_of, writes_nothing
from tests.factories import make_run

URL = "/api/v1/heartbeats"


def _changes(db, run_id):
    query = sa.select(sa.func.count()).select_from(RunChange).where(RunChange.run_id == run_id)
    return db.session.scalar(query)


def _kinds(db, run_id):
    query = sa.select(RunEvent.kind).where(RunEvent.run_id == run_id).order_by(RunEvent.id)
    return db.session.scalars(query).all()


def test_a_mixed_batch_answers_per_item_and_writes_only_what_it_may(
    api, db, clock, workspace, other_workspace
):
    now = clock.now()
    running = make_run(workspace, now=now, total=10)
    second = make_run(workspace, now=now)
    done = make_run(workspace, now=now, status="completed")
    queued = make_run(workspace, now=now, status="queued")
    theirs = make_run(other_workspace[0], now=now)
    full = make_run(workspace, now=now, total=5)
    ids = (running.id, second.id, done.id, queued.id, theirs.id, full.id)
    before = {run_id: _changes(db, run_id) for run_id in ids}
    items = [
        {"run_id": running.id, "processed": 4},
        {"run_id": 999_999},
        {"run_id": done.id, "processed": 1},
        {"run_id": running.id, "processed": "5"},
        {"run_id": theirs.id},
        {"run_id": second.id},
        {"run_id": queued.id},
        {"run_id": full.id, "processed": 6},
        {"run_id": running.id, "processed": 5},
        "not an object",
        {"run_id": second.id, "colour": "red"},
    ]
    answer = api.post(URL, json={"items": items})
    assert answer.status_code == 200
    results = answer.get_json()["results"]
    assert [r["index"] for r in results] == list(range(len(items)))
    assert [r["status"] for r in results] == [200, 404, 409, 422, 404, 200, 409, 422, 422, 422, 422]
    assert results[2]["error"]["code"] == "run_already_completed"
    assert results[3]["error"]["fields"] == {"processed": "Input should be a valid integer"}
    assert results[7]["error"]["fields"] == {"processed": "must not exceed total (5)"}
    assert results[8]["error"]["fields"] == {"run_id": "appears earlier in this batch"}
    assert "colour" in results[10]["error"]["fields"]

    db.session.expire_all()
    assert db.session.get(OperationRun, running.id).processed == 4
    assert db.session.get(OperationRun, second.id).last_heartbeat_at == now
    assert db.session.get(OperationRun, full.id).last_heartbeat_at is None
    assert db.session.get(OperationRun, queued.id).status == "queued"
    assert "late_report" in _kinds(db, done.id)
    after = {run_id: _changes(db, run_id) for run_id in ids}
    assert {k: after[k] - before[k] for k in ids} == {
        running.id: 1,  # one live change per run
        second.id: 1,
        done.id: 1,  # the late report, as a single call keeps it
        queued.id: 0,
        theirs.id: 0,
        full.id: 0,
    }


def test_an_item_is_taken_as_the_single_call_takes_it(api, db, clock, workspace):
    now = clock.now()
    single, batched = (make_run(workspace, now=now, total=9, processed=5) for _ in range(2))
    report = {"processed": 3, "at": "2026-11-26T11:59:50Z"}
    assert api.post(f"/api/v1/runs/{single.id}/heartbeat", json=report).status_code == 200
    assert api.post(URL, json={"items": [{"run_id": batched.id, **report}]}).status_code == 200
    db.session.expire_all()
    columns = ("processed", "total", "last_heartbeat_at", "last_progress_at", "event_count")
    one, other = (db.session.get(OperationRun, r.id) for r in (single, batched))
    assert [getattr(one, c) for c in columns] == [getattr(other, c) for c in columns]
    assert _kinds(db, single.id) == _kinds(db, batched.id)  # the regression, kept alike


def test_a_malformed_batch_writes_nothing(api, db, workspace, clock):
    run = make_run(workspace, now=clock.now())
    with writes_nothing(db):
        error_of(api.post(URL, json={"items": []}), 422)
        error_of(api.post(URL, json={"items": [{"run_id": run.id}] * 501}), 422)
        error_of(api.post(URL, json=[{"run_id": run.id}]), 400)
        error_of(api.post(URL, json={"items": [{"run_id": run.id}], "x": 1}), 422)
        error_of(api.post(URL, data="{", content_type="application/json"), 400)


def test_a_batch_needs_a_token(client, db):
    error_of(client.post(URL, json={"items": [{"run_id": 1}]}), 401)


def test_results_keep_the_order_of_the_items(api, db, clock, workspace):
    runs = [make_run(workspace, now=clock.now()) for _ in range(3)]
    items = [{"run_id": run.id, "processed": n} for n, run in enumerate(reversed(runs), 1)]
    results = api.post(URL, json={"items": items}).get_json()["results"]
    assert [r["run_id"] for r in results] == [run.id for run in reversed(runs)]
    db.session.expire_all()
    assert [db.session.get(OperationRun, run.id).processed for run in runs] == [3, 2, 1]


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_batches_over_the_same_runs_in_opposite_orders_both_land(app, issued, workspace, clock):
    ids = [make_run(workspace, now=clock.now()).id for _ in range(40)]
    orders = [ids, list(reversed(ids))] * 3
    barrier, answers = threading.Barrier(len(orders)), []

    def call(order):
        with app.app_context():
            api = ApiClient(app.test_client(), issued.secret)
            barrier.wait(timeout=30)
            answer = api.post(URL, json={"items": [{"run_id": i} for i in order]})
            answers.append(answer.status_code)
            _db.session.remove()

    threads = [threading.Thread(target=call, args=(order,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert answers == [200] * len(orders)
