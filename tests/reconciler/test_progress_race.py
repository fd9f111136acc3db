"""Sixteen workers heartbeating one run at once on PostgreSQL end as some serial order would."""

import random
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.models import OperationRun, RunEvent
from app.operations.tokens import create_token
from tests.conftest import T0, iso
from tests.factories import make_workspace

pytestmark = pytest.mark.postgres
THREADS = 16
REPORTS = 40  # per thread: 640 distinct values, each report is one event


def _report(client, headers, run_id, value):
    at = T0 + timedelta(milliseconds=value)  # later for higher values
    body = {"processed": value, "at": iso(at)}
    return client.post(f"/api/v1/runs/{run_id}/heartbeat", json=body, headers=headers)


def _worker(app, headers, run_id, values, barrier, answers):
    client = app.test_client()
    barrier.wait()
    for value in values:
        answers.append(_report(client, headers, run_id, value).status_code)


def test_concurrent_heartbeats_keep_the_highest_value_and_every_lower_one(pg_app, pg_db, clock):
    pg_app.config["TIMELINE_REGRESSIONS_KEPT"] = THREADS * REPORTS  # keep every one here
    workspace = make_workspace(slug="race")
    headers = {"Authorization": f"Bearer {create_token(workspace, 'w', now=T0).secret}"}
    clock.set(T0 - timedelta(minutes=1))
    run_id = (
        pg_app.test_client()
        .post("/api/v1/runs", json={"type": "inventory_sync", "status": "running"}, headers=headers)
        .get_json()["id"]
    )
    clock.set(T0 + timedelta(minutes=1))
    barrier, answers = threading.Barrier(THREADS), []
    threads = []
    for t in range(THREADS):
        values = [t + THREADS * j for j in range(REPORTS)]
        random.Random(t).shuffle(values)
        args = (pg_app, headers, run_id, values, barrier, answers)
        threads.append(threading.Thread(target=_worker, args=args))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert answers == [200] * THREADS * REPORTS

    pg_db.session.expire_all()
    run = pg_db.session.get(OperationRun, run_id)
    query = sa.select(RunEvent).where(RunEvent.run_id == run_id).order_by(RunEvent.id)
    events = pg_db.session.scalars(query).all()
    assert [e.kind for e in events[:2]] == ["created", "started"]
    reports = events[2:]
    assert len(reports) == THREADS * REPORTS  # no report lost, none written twice

    # Replay the reports in the order the database acknowledged them (event ids are taken
    # under the run's row lock): each event is what that serial order says it must be.
    high, increases = -1, 0
    for event in reports:
        if event.kind == "progress":
            assert event.data["processed"] > high
            high, increases = event.data["processed"], increases + 1
        else:
            assert event.kind == "progress_regression"
            assert event.data["reported"] < high
            assert event.data["kept"] == high
    top = THREADS * REPORTS - 1
    assert high == run.processed == top
    assert run.last_progress_at == T0 + timedelta(milliseconds=top)
    assert run.last_heartbeat_at == T0 + timedelta(milliseconds=top)
    assert sum(e.kind == "progress" for e in reports) == increases
    assert run.progress_regressions == THREADS * REPORTS - increases
    assert run.progress_regressions_omitted == 0
    assert run.event_count == len(events)
    assert increases < THREADS * REPORTS  # the reports did interleave
