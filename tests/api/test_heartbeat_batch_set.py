"""POST /api/v1/heartbeats written set-based: a batch costs the same statements for one
item or 500, and leaves exactly what the same reports sent one by one would leave."""

import random
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db as _db
from app.models import OperationRun, RunChange, RunEvent
from app.operations.clock import isoformat
from app.operations.lifecycle import LateReport, TransitionNotAllowed, heartbeat_batch
from app.operations.store import Report
from tests.api.conftest import ApiClient, error_of, writes_nothing
from tests.conftest import counted
from tests.factories import make_run

URL = "/api/v1/heartbeats"
COLUMNS = (
    "processed",
    "total",
    "last_heartbeat_at",
    "last_progress_at",
    "event_count",
    "progress_regressions",
    "progress_regressions_omitted",
    "last_regression_at",
    "heartbeat_gap_max",
    "progress_gap_max",
)


def _feed(db, run_ids):
    query = sa.select(RunChange.run_id, sa.func.count()).group_by(RunChange.run_id)
    counts = dict(db.session.execute(query.where(RunChange.run_id.in_(run_ids))).all())
    return [counts.get(run_id, 0) for run_id in run_ids]


def _events(db, run_id):
    query = sa.select(RunEvent.kind, RunEvent.at, RunEvent.actor, RunEvent.data)
    return db.session.execute(query.where(RunEvent.run_id == run_id).order_by(RunEvent.id)).all()


def _row(db, run_id):
    run = db.session.get(OperationRun, run_id, populate_existing=True)
    return [getattr(run, column) for column in COLUMNS]


def _statements(db, call):
    db.session.expunge_all()
    with counted(db) as seen:
        answer = call()
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return len(seen), answer.get_json()["results"]


def test_one_item_or_500_cost_the_same_statements(app, api, db, clock, workspace):
    app.config["API_TOKEN_CACHE_SECONDS"] = 3600  # the token is read once, by this call:
    api.get("/api/v1/runs")  # its last use is recorded once a minute, not counted
    runs = [make_run(workspace, now=clock.now(), total=1000) for _ in range(501)]
    db.session.commit()
    ids = [run.id for run in runs]

    one, results = _statements(db, lambda: api.post(URL, json={"items": [{"run_id": ids[0]}]}))
    assert [r["status"] for r in results] == [200]
    clock.advance(5)
    items = [{"run_id": i, "processed": n} for n, i in enumerate(ids[1:], 1)]
    many, results = _statements(db, lambda: api.post(URL, json={"items": items}))
    assert [r["status"] for r in results] == [200] * 500
    assert [r["run_id"] for r in results] == ids[1:]
    # PostgreSQL: one statement, which checks the runs it writes (the token is kept);
    # SQLite: the visible runs, then three statements.
    assert one == many == (1 if db.engine.dialect.name == "postgresql" else 1 + 3)

    db.session.expire_all()
    assert _feed(db, ids) == [1] * 501  # one live change per run
    for n, run_id in enumerate(ids[1:], 1):
        assert _row(db, run_id)[:4] == [n, 1000, clock.now(), clock.now()]
    assert [e.kind for e in _events(db, ids[250])][-1] == "progress"


def test_501_items_are_refused_whole(api, db, clock, workspace):
    run = make_run(workspace, now=clock.now())
    with writes_nothing(db):
        error = error_of(api.post(URL, json={"items": [{"run_id": run.id}] * 501}), 422)
    assert "items" in error["fields"]


def test_a_run_named_twice_is_taken_once_and_the_repeat_refused(api, db, clock, workspace):
    run, other = (make_run(workspace, now=clock.now(), total=10) for _ in range(2))
    items = [
        {"run_id": run.id, "processed": 3},
        {"run_id": 999_999},
        {"run_id": run.id, "processed": 7},
        {"run_id": other.id, "processed": 2},
        {"run_id": 999_999},
        {"run_id": run.id},
    ]
    results = api.post(URL, json={"items": items}).get_json()["results"]
    assert [r["status"] for r in results] == [200, 404, 422, 200, 422, 422]
    assert {results[i]["error"]["fields"]["run_id"] for i in (2, 4, 5)} == {
        "appears earlier in this batch"
    }
    db.session.expire_all()
    assert _row(db, run.id)[0] == 3  # the first report, not the repeat
    assert _feed(db, [run.id, other.id]) == [1, 1]


def _reports(start):
    """Reports that exercise every rule: first heartbeat, growth, regressions (kept,
    then counted), a total, a plain heartbeat, a report older than the last one."""
    s = timedelta(seconds=1)
    return [
        [{}],
        [{"processed": 5, "total": 20, "at": isoformat(start + 10 * s)}],
        [{"processed": 3, "at": isoformat(start + 11 * s)}],
        [{"processed": 2}],
        [{"processed": 1, "at": isoformat(start + 12 * s)}],
        [{}],
        [{"processed": 9, "at": isoformat(start + 5 * s)}],  # older than the last heartbeat
        [{"processed": 9, "total": 30}],
        [{"processed": 12, "at": isoformat(start + 30 * s)}],
    ]


def test_a_batch_leaves_what_the_same_single_calls_leave(api, app, db, clock, workspace):
    app.config["TIMELINE_REGRESSIONS_KEPT"] = 2
    start = clock.now() - timedelta(minutes=10)
    pairs = [
        [make_run(workspace, now=clock.now(), age=600, **fields) for _ in range(2)]
        for fields in ({}, {"processed": 4, "last_progress_at": start}, {"total": 50})
    ]
    db.session.commit()
    for step in _reports(start):
        clock.advance(7)
        for single, _batched in pairs:
            url = f"/api/v1/runs/{single.id}/heartbeat"
            assert api.post(url, json=step[0]).status_code == 200
        items = [{"run_id": batched.id, **step[0]} for _single, batched in pairs]
        answer = api.post(URL, json={"items": items}).get_json()["results"]
        assert [r["status"] for r in answer] == [200] * len(pairs)
    db.session.expire_all()
    for single, batched in pairs:
        assert _row(db, single.id) == _row(db, batched.id)
        assert _events(db, single.id) == _events(db, batched.id)
    kinds = [event.kind for event in _events(db, pairs[0][1].id)]
    assert kinds.count("progress_regression") == 2  # kept up to the limit, then counted
    assert _row(db, pairs[0][1].id)[5:7] == [3, 1]


def test_refused_reports_in_a_batch_are_kept_as_single_calls_keep_them(db, clock, workspace):
    now = clock.now()
    running = make_run(workspace, now=now)
    done = make_run(workspace, now=now, status="completed")
    queued = make_run(workspace, now=now, status="queued")
    db.session.commit()
    reports = [Report(r.id, 4, None, now) for r in (done, running, queued)]

    outcomes = heartbeat_batch(reports, now=now, actor="worker-1")

    assert [type(o) for o in outcomes] == [LateReport, type(None), TransitionNotAllowed]
    assert _row(db, running.id)[:3] == [4, None, now]
    assert _feed(db, [done.id, running.id, queued.id]) == [1, 1, 0]
    assert [e.kind for e in _events(db, done.id)][-1] == "late_report"
    assert _events(db, done.id)[-1].data == {
        "report": "heartbeat",
        "processed": 4,
        "total": None,
        "at": isoformat(now),
    }
    assert db.session.get(OperationRun, queued.id).status == "queued"


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_concurrent_batches_and_single_calls_keep_the_high_water_mark(
    app, issued, workspace, clock
):
    ids = [make_run(workspace, now=clock.now(), total=10_000).id for _ in range(30)]
    _db.session.commit()
    rng = random.Random(5)
    calls = []
    for n in range(8):
        values = rng.sample(range(1, 10_000), len(ids))
        items = [{"run_id": i, "processed": v} for i, v in zip(ids, values, strict=True)]
        rng.shuffle(items)
        calls.append(("batch", items) if n % 2 else ("single", items[:10]))
    barrier, answers = threading.Barrier(len(calls)), []

    def call(kind, items):
        with app.app_context():
            api = ApiClient(app.test_client(), issued.secret)
            barrier.wait(timeout=30)
            if kind == "batch":
                answers.append(api.post(URL, json={"items": items}).status_code)
            for item in items if kind == "single" else ():
                url = f"/api/v1/runs/{item['run_id']}/heartbeat"
                answers.append(api.post(url, json={"processed": item["processed"]}).status_code)
            _db.session.remove()

    threads = [threading.Thread(target=call, args=c) for c in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert answers == [200] * (4 + 4 * 10)
    highest = {}
    for _kind, items in calls:
        for item in items:
            highest[item["run_id"]] = max(highest.get(item["run_id"], 0), item["processed"])
    for run_id in ids:
        events = _events(_db, run_id)
        progress = [e.data["processed"] for e in events if e.kind == "progress"]
        assert progress == sorted(progress) and len(set(progress)) == len(progress)
        run = _db.session.get(OperationRun, run_id)
        assert run.processed == highest[run_id] == progress[-1]
        assert run.event_count == len(events)


def test_items_at_the_edges_of_their_values_are_written_as_sent(api, db, clock, workspace):
    # The batch's items travel to PostgreSQL as one JSON document: the largest count and a
    # report time to the microsecond, exactly at the run's start, come back unchanged.
    from app.blueprints.api.schemas import MAX_INT64

    at = clock.now() - timedelta(seconds=60, microseconds=-123456)
    run = make_run(workspace, now=clock.now())
    db.session.get(OperationRun, run.id).started_at = at
    db.session.commit()
    item = {"run_id": run.id, "processed": MAX_INT64, "total": MAX_INT64, "at": isoformat(at)}
    results = api.post(URL, json={"items": [item]}).get_json()["results"]
    assert [r["status"] for r in results] == [200]
    assert _row(db, run.id)[:4] == [MAX_INT64, MAX_INT64, at, at]
    kind, event_at, _, data = _events(db, run.id)[-1]
    assert (kind, event_at, data) == (
        "progress",
        at,
        {k: v for k, v in item.items() if k != "run_id"},
    )


def _late_columns(db, run_id):
    run = db.session.get(OperationRun, run_id, populate_existing=True)
    return [run.late_reports, run.late_reports_omitted, run.last_late_report_at, run.event_count]


def test_late_reports_in_a_batch_are_written_set_based_as_single_calls_write_them(
    api, app, db, clock, workspace
):
    app.config["TIMELINE_LATE_REPORTS_KEPT"] = 2
    app.config["API_TOKEN_CACHE_SECONDS"] = 3600
    api.get("/api/v1/runs")
    # Each pair: one run reported to one by one, its twin in batches. Below the limit, at
    # it (the last one kept), over it (counted only), and already counting.
    starts = [(0, 0), (1, 0), (2, 0), (3, 1)]
    pairs = [
        [
            make_run(
                workspace,
                now=clock.now(),
                status="completed",
                late_reports=n,
                **{"late_reports_omitted": omitted},
            )
            for _ in range(2)
        ]
        for n, omitted in starts
    ]
    running = make_run(workspace, now=clock.now()).id
    db.session.commit()
    pairs = [(single.id, batched.id) for single, batched in pairs]
    counts = []
    for step in range(2):
        clock.advance(3)
        for single, _ in pairs:
            answer = api.post(f"/api/v1/runs/{single}/heartbeat", json={"processed": step})
            assert answer.status_code == 409
        items = [{"run_id": batched, "processed": step} for _, batched in pairs]
        items.insert(2, {"run_id": running, "processed": step})
        seen, results = _statements(db, lambda items=items: api.post(URL, json={"items": items}))
        assert [r["status"] for r in results] == [409, 409, 200, 409, 409]
        assert {r["error"]["code"] for r in results if r["status"] == 409} == {
            "run_already_completed"
        }
        counts.append(seen)
    db.session.expire_all()
    for single, batched in pairs:
        assert _late_columns(db, single) == _late_columns(db, batched)
        assert _events(db, single) == _events(db, batched)
    # kept while late_reports stays within the limit, then counted; never kept again
    assert [_late_columns(db, b)[:2] for _, b in pairs] == [[2, 0], [3, 1], [4, 2], [5, 3]]
    kept = [[e.kind for e in _events(db, b)].count("late_report") for _, b in pairs]
    assert kept == [2, 1, 0, 0]
    assert _feed(db, [b for _, b in pairs]) == [2, 2, 2, 2]  # one live change per call
    # PostgreSQL: the checked heartbeats (the running run's), then for the refused ones
    # the runs, the heartbeats (none written), the late reports' UPDATE, events and feed
    # rows; SQLite: the runs, the heartbeats (three), the late reports (three).
    expected = 1 + 1 + 1 + 3 if db.engine.dialect.name == "postgresql" else 1 + 3 + 3
    assert counts == [expected, expected]


def test_the_statements_of_late_reports_do_not_grow_with_their_number(
    api, app, db, clock, workspace
):
    app.config["API_TOKEN_CACHE_SECONDS"] = 3600
    api.get("/api/v1/runs")
    done = [make_run(workspace, now=clock.now(), status="completed") for _ in range(40)]
    db.session.commit()
    done = [run.id for run in done]
    one, _ = _statements(db, lambda: api.post(URL, json={"items": [{"run_id": done[0]}]}))
    items = [{"run_id": run_id} for run_id in done[1:]]
    many, results = _statements(db, lambda: api.post(URL, json={"items": items}))
    assert [r["status"] for r in results] == [409] * 39
    assert one == many
    db.session.expire_all()
    assert _feed(db, done) == [1] * 40
    assert all(_events(db, run_id)[-1].kind == "late_report" for run_id in done)
