"""python -m bench.reconcile_bench: time reconciler passes on a large runs table.

Measures (1) the steady-state pass that finds nothing, over RUNS runs (default 1,000,000),
and its candidate query alone; (2) a pass closing STALE stale runs (default 10,000) added on
top, in batches of RECONCILER_BATCH_SIZE. Data is generated with COPY (PostgreSQL) or
batched INSERTs (SQLite), never row by row; the stale runs and their events are removed
afterwards so the data set can be reused.

Environment: DATABASE_URL (default a SQLite file in the temp dir, kept for reuse; a
PostgreSQL database must be empty or hold this benchmark's data), RUNS, STALE, BENCH_OUT
(default bench/results/reconcile-<db>.json).
"""

import argparse
import json
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.models import OperationRun, ReconcilerPass, RunChange, RunEvent, Workspace
from app.models.runs import built_on
from app.operations import get_policy
from app.operations.clock import FrozenClock, SystemClock, now
from app.operations.freshness import instant, reconcile_due_clause
from bench import generate
from bench.__main__ import BenchConfig, machine, summarize
from reconciler.reconcile import run_pass

EMPTY_PASSES = 30


def prepare(runs):
    """Reuse this benchmark's data set of ``runs`` runs, or generate it into an empty database."""
    inspector = sa.inspect(db.engine)
    if inspector.has_table("operation_runs"):
        count = db.session.scalar(sa.select(sa.func.count()).select_from(OperationRun))
        bench_ws = db.session.scalar(sa.select(Workspace).where(Workspace.slug == "bench"))
        if bench_ws is not None and count == runs:
            missing = schema_gaps(inspector)
            if not missing:
                print(f"reusing {count:,} runs")
                return 0.0
            # A set generated before a migration lacks its columns or indexes: the figures
            # would not be the product's.
            print(f"the data set predates the schema (no {', '.join(missing[:5])}): regenerating")
        elif count:
            raise SystemExit(f"the database holds other data ({count:,} runs); use an empty one")
        db.drop_all()
    db.create_all()
    started = time.perf_counter()
    ws, tenants, _owner = generate.seed_accounts(now())
    generate.generate_runs(ws, tenants, get_policy(), now(), runs)
    _analyze()
    elapsed = time.perf_counter() - started
    print(f"generated {runs:,} runs in {elapsed:.1f} s")
    return elapsed


def schema_gaps(inspector):
    """The tables, columns and indexes of the models that the database lacks."""
    missing = []
    for table in db.metadata.sorted_tables:
        if not inspector.has_table(table.name):
            missing.append(table.name)
            continue
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        missing += [f"{table.name}.{c.name}" for c in table.columns if c.name not in columns]
        indexes = {i["name"] for i in inspector.get_indexes(table.name)}
        dialect = db.engine.dialect.name
        missing += [
            i.name
            for i in table.indexes
            if i.name and i.name not in indexes and built_on(i, dialect)
        ]
    return missing


def _analyze():
    """Statistics as a deployment has them: autovacuum on PostgreSQL, none on SQLite."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))


def _timed_pass(**kwargs):
    started = time.perf_counter()
    summary = run_pass(holder="bench", **kwargs)
    return (time.perf_counter() - started) * 1000, summary


def measure_empty(batch_size):
    """The steady state: passes that find nothing, and the candidate query on its own."""
    first_ms, first = _timed_pass(batch_size=batch_size)
    print(f"  first pass closed the {first.reconciled} due runs of the generated set")
    passes = [_timed_pass(batch_size=batch_size) for _ in range(EMPTY_PASSES)]
    assert all(summary.scanned == 0 for _, summary in passes)
    query = (
        sa.select(OperationRun.id)
        .where(reconcile_due_clause(get_policy()), OperationRun.id > 0)
        .order_by(OperationRun.id)
        .limit(batch_size)
        .params(instant(get_policy(), now()))
    )
    samples = []
    for _ in range(EMPTY_PASSES):
        started = time.perf_counter()
        db.session.execute(query).all()
        samples.append((time.perf_counter() - started) * 1000)
    db.session.rollback()
    return {
        "first_pass": {"ms": round(first_ms, 1), "reconciled": first.reconciled},
        "empty_pass": summarize([ms for ms, _ in passes]),
        "empty_candidate_query": summarize(samples),
        "candidate_plan": _plan(query),
    }


def _plan(query):
    compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
    prefix = "EXPLAIN" if db.engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN"
    rows = db.session.execute(sa.text(f"{prefix} {compiled}")).all()
    db.session.rollback()
    return [str(row[-1]) for row in rows]


def measure_stale(count, batch_size):
    """Add ``count`` stale runs, close them in one pass, then remove them again."""
    high_water = db.session.scalar(sa.select(sa.func.max(OperationRun.id))) or 0
    ws_id = db.session.scalar(sa.select(Workspace.id).where(Workspace.slug == "bench"))
    at = now() - timedelta(days=2)
    row = dict.fromkeys(generate.COLUMNS)
    row.update(
        workspace_id=ws_id,
        tenant_id=None,
        type="baseline_compare",
        status="running",
        outcome="pending",
        created_at=at,
        started_at=at,
        last_heartbeat_at=at,
    )
    try:
        generate._flush([row] * count)
        db.session.commit()
        ms, summary = _timed_pass(batch_size=batch_size)
        assert summary.reconciled == count, summary
    finally:
        _remove_after(high_water)
    return {"ms": round(ms, 1), "reconciled": summary.reconciled, "batch_size": batch_size}


def _remove_after(high_water):
    db.session.rollback()
    for model in (RunEvent, RunChange):
        db.session.execute(sa.delete(model).where(model.run_id > high_water))
    db.session.execute(sa.delete(OperationRun).where(OperationRun.id > high_water))
    db.session.execute(sa.delete(ReconcilerPass))
    db.session.commit()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.reconcile_bench", description=__doc__)
    parser.add_argument("--runs", type=int, default=int(os.environ.get("RUNS", 1_000_000)))
    parser.add_argument("--stale", type=int, default=int(os.environ.get("STALE", 10_000)))
    parser.add_argument("--repeat", type=int, default=3, help="stale passes to time")
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL") or (
        f"sqlite:///{Path(tempfile.gettempdir()) / f'runwarden-reconcile-{args.runs}.db'}"
    )
    # A frozen clock: runs do not become due while the empty passes are timed.
    app = create_app(BenchConfig(url), clock=FrozenClock(SystemClock().now()))
    batch_size = app.config["RECONCILER_BATCH_SIZE"]
    with app.app_context():
        generated_s = prepare(args.runs)
        dialect = db.engine.dialect.name
        print(f"{dialect}: empty passes over {args.runs:,} runs")
        results = measure_empty(batch_size)
        print(f"{dialect}: passes closing {args.stale:,} stale runs")
        stale = [measure_stale(args.stale, batch_size) for _ in range(args.repeat)]
        results["stale_passes"] = stale
    report = {
        "db": dialect,
        "runs": args.runs,
        "stale": args.stale,
        "generated_s": round(generated_s, 1),
        "machine": machine(),
        "results": results,
    }
    out = Path(os.environ.get("BENCH_OUT") or f"bench/results/reconcile-{dialect}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print_report(report)
    print(f"report written to {out}")


def print_report(report):
    """The figures as a short table."""
    results = report["results"]
    print(f"\n{report['db']} · {report['runs']:,} runs · {report['machine']}")
    for name in ("empty_pass", "empty_candidate_query"):
        value = results[name]
        print(f"{name:<28} p50 {value['p50_ms']:>9.2f} ms  p95 {value['p95_ms']:>9.2f} ms")
    for n, value in enumerate(results["stale_passes"], 1):
        label = f"{value['reconciled']:,} stale, pass {n}"
        print(f"{label:<28} {value['ms']:>13.1f} ms  (batches of {value['batch_size']})")
    print("candidate plan: " + " | ".join(results["candidate_plan"][:4]))


if __name__ == "__main__":
    main()
