"""The long-timeline measure: a run with 100,000 events, its detail page and its API GET.

``measure_long_timeline`` adds one completed run with 100,000 events (COPY on PostgreSQL,
batched INSERT on SQLite), times the detail page, its deepest "Older events" page and
``GET /api/v1/runs/<id>``, then removes the run again. ``python -m bench.timeline`` runs
this measure alone on the bench data set (RUNS, DATABASE_URL as for ``python -m bench``).
"""

import json
import os
import time
from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import OperationRun, RunChange, RunEvent
from app.operations.clock import now
from app.operations.timeline import encode_cursor

EVENTS = 100_000  # BENCH_TIMELINE_EVENTS overrides it (the smoke test uses a few)
BATCH = 10_000
TOKEN_NAME = "bench-timeline"


def add_long_run(ws, events=EVENTS):
    """A completed workspace-level run with ``events`` progress events; its id."""
    at = now()
    started = at - timedelta(seconds=events)
    run_id = db.session.scalar(
        sa.insert(OperationRun)
        .values(
            workspace_id=ws.id,
            type="inventory_sync",
            status="completed",
            outcome="succeeded",
            created_at=started,
            started_at=started,
            completed_at=at,
            processed=events,
            event_count=events,
        )
        .returning(OperationRun.id)
    )
    rows = (
        (run_id, "progress", started + timedelta(seconds=i), "bench", {"processed": i})
        for i in range(events)
    )
    _write_events(rows)
    db.session.commit()
    _analyze()
    return run_id


def add_events(run_id, events):
    """Give the run ``run_id`` ``events`` more progress events (before its own), as a run that
    has reported for a long time has: the live measure's long-timeline option."""
    run = db.session.get(OperationRun, run_id)
    started = run.started_at or run.created_at
    rows = (
        (
            run_id,
            "progress",
            started - timedelta(milliseconds=events - i),
            "bench",
            {"processed": 0},
        )
        for i in range(events)
    )
    _write_events(rows)
    run.event_count = (run.event_count or 0) + events
    db.session.commit()
    _analyze()


def _write_events(rows):
    columns = ("run_id", "kind", "at", "actor", "data")
    if db.engine.dialect.name == "postgresql":
        cursor = db.session.connection().connection.driver_connection.cursor()
        with cursor.copy(f"COPY run_events ({', '.join(columns)}) FROM STDIN") as copy:
            for *values, data in rows:
                copy.write_row((*values, json.dumps(data)))
        return
    batch = []
    for run_id, kind, at, actor, data in rows:
        batch.append(dict(run_id=run_id, kind=kind, at=at, actor=actor, data=data))
        if len(batch) == BATCH:
            db.session.execute(sa.insert(RunEvent.__table__).values(batch))
            batch = []
    if batch:
        db.session.execute(sa.insert(RunEvent.__table__).values(batch))


def _analyze():
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE run_events"))
    else:
        db.session.execute(sa.text("ANALYZE run_events"))
        db.session.commit()


def remove_run(run_id):
    """Remove the long run and its events again (the data set keeps its generated size)."""
    db.session.rollback()
    for model in (RunEvent, RunChange):
        db.session.execute(sa.delete(model).where(model.run_id == run_id))
    db.session.execute(sa.delete(OperationRun).where(OperationRun.id == run_id))
    db.session.commit()


def _deepest_cursor(run_id):
    """The cursor of the last "Older events" page (the oldest 50 events)."""
    event = db.session.execute(
        sa.select(RunEvent.at, RunEvent.id)
        .where(RunEvent.run_id == run_id)
        .order_by(RunEvent.at, RunEvent.id)
        .offset(50)
        .limit(1)
    ).one()
    return encode_cursor(event)


def measure_long_timeline(app, ws, n, client, headers):
    """{measure: {p50_ms, p95_ms, n}} for the 100k-event run's pages; ``client`` is signed
    in as the owner, ``headers`` carry an API token of ``ws``."""
    started = time.perf_counter()
    events = int(os.environ.get("BENCH_TIMELINE_EVENTS") or EVENTS)
    run_id = add_long_run(ws, events)
    print(f"  added a run with {events:,} events in {time.perf_counter() - started:.1f} s")
    try:
        deep = _deepest_cursor(run_id)
        paths = {
            "detail_100k_events": (f"/admin/operations/{run_id}", None),
            "detail_100k_events_oldest": (f"/admin/operations/{run_id}?events_before={deep}", None),
            "api_get_100k_events": (f"/api/v1/runs/{run_id}", headers),
            "api_get_100k_events_oldest": (f"/api/v1/runs/{run_id}?events_before={deep}", headers),
        }
        return _time_paths(client, paths, n)
    finally:
        remove_run(run_id)


def measure_few_events(n, client, headers, ws):
    """The same pages of a run with three events, in the same process: what the long
    timeline adds is the difference (``make bench`` has its own ``detail``)."""
    run_id = add_long_run(ws, 3)
    try:
        paths = {
            "detail_3_events": (f"/admin/operations/{run_id}", None),
            "api_get_3_events": (f"/api/v1/runs/{run_id}", headers),
        }
        return _time_paths(client, paths, n)
    finally:
        remove_run(run_id)


def _time_paths(client, paths, n):
    """{name: figures} of ``n`` timed GETs of each of ``paths`` ({name: (path, headers)})."""
    from bench.measures import _timed

    results = {}
    for name, (path, headers) in paths.items():
        results[name] = _timed(client, path, n, headers)
        print(f"  {name:<32} p95 {results[name]['p95_ms']:.2f} ms")
    return results


def main():
    """Run this measure alone on the bench data set and print its figures."""
    from app import create_app
    from app.models import ApiToken, User
    from app.operations.clock import FrozenClock, SystemClock
    from bench.__main__ import BenchConfig, default_url, prepare
    from bench.measures import _login

    runs = int(os.environ.get("RUNS", 1_000_000))
    requests = int(os.environ.get("BENCH_REQUESTS", 60))
    clock = FrozenClock(SystemClock().now())
    app = create_app(BenchConfig(os.environ.get("DATABASE_URL") or default_url(runs)), clock=clock)
    with app.app_context():
        ws = prepare(runs)
        clock.set(ws.created_at)
        client = app.test_client()
        _login(client, db.session.scalar(sa.select(User).where(User.email == "owner@bench.test")))
        print(f"{db.engine.dialect.name} · {runs:,} runs")
        try:
            headers = token_headers(ws)
            measure_long_timeline(app, ws, requests, client, headers)
            measure_few_events(requests, client, headers, ws)
        finally:
            db.session.execute(sa.delete(ApiToken).where(ApiToken.name == TOKEN_NAME))
            db.session.commit()


def token_headers(ws):
    """Authorization headers of a new API token of ``ws`` (named TOKEN_NAME)."""
    from app.operations.tokens import create_token

    return {"Authorization": f"Bearer {create_token(ws, TOKEN_NAME, now=now()).secret}"}


if __name__ == "__main__":
    main()
