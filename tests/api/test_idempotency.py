"""Idempotent creates: ``Idempotency-Key`` makes a retried create answer the first run."""

import threading

import pytest
import sqlalchemy as sa

from app.extensions import db as _db
from app.models import OperationRun
from app.models.idempotency import IdempotencyKey
from tests.api.conftest import ApiClient, error_of, writes_nothing

BODY = {"type": "baseline_compare", "tenant": "contoso", "status": "running", "total": 9}


def _create(api, key, body=BODY):
    return api.post("/api/v1/runs", json=body, headers={"Idempotency-Key": key})


def _runs(db):
    return db.session.scalar(sa.select(sa.func.count()).select_from(OperationRun))


def test_a_retried_create_answers_the_first_run(api, db, tenant, clock):
    first = _create(api, "k-1")
    assert first.status_code == 201
    run_id = first.get_json()["id"]
    api.post(f"/api/v1/runs/{run_id}/heartbeat", json={"processed": 4})
    clock.advance(30)
    again = _create(api, "k-1", dict(reversed(BODY.items())))  # key order is no difference
    assert again.status_code == 201
    assert again.get_data() == first.get_data()
    assert again.headers["Location"] == first.headers["Location"]
    assert _runs(db) == 1


def test_another_body_under_the_same_key_answers_409_and_writes_nothing(api, db, tenant):
    _create(api, "k-1")
    with writes_nothing(db):
        error_of(_create(api, "k-1", {**BODY, "total": 10}), 409, "idempotency_key_reused")


def test_keys_belong_to_a_workspace(api, other_api, db, tenant, other_workspace):
    _create(api, "shared")
    theirs = _create(other_api, "shared", {"type": "baseline_compare"})
    assert theirs.status_code == 201
    assert _runs(db) == 2


def test_a_refused_create_keeps_no_key(api, db, tenant):
    with writes_nothing(db):
        error_of(_create(api, "k-2", {**BODY, "type": "nope"}), 422)
    assert _create(api, "k-2").status_code == 201
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IdempotencyKey)) == 1


@pytest.mark.parametrize("key", ["", "x" * 201, "has space", "caf\u00e9"])
def test_a_key_must_be_visible_ascii(api, db, tenant, key):
    headers = {"Idempotency-Key": key.encode("utf-8").decode("latin-1")}
    with writes_nothing(db):
        answer = api.post("/api/v1/runs", json=BODY, headers=headers)
        assert "Idempotency-Key" in error_of(answer, 422)["fields"]


def test_without_a_key_every_create_is_a_new_run(api, db, tenant):
    api.post("/api/v1/runs", json=BODY)
    api.post("/api/v1/runs", json=BODY)
    assert _runs(db) == 2


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_concurrent_creates_under_one_key_create_one_run(app, issued, tenant):
    callers = 8
    barrier, answers = threading.Barrier(callers), [None] * callers

    def call(i):
        with app.app_context():
            api = ApiClient(app.test_client(), issued.secret)
            barrier.wait(timeout=30)
            answer = _create(api, "race")
            answers[i] = (answer.status_code, answer.get_data())
            _db.session.remove()

    threads = [threading.Thread(target=call, args=(i,)) for i in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(set(answers)) == 1 and answers[0][0] == 201
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(OperationRun)) == 1
