"""python -m bench: generate N runs, then time every page through the real app.

Environment: RUNS (default 1000000), DATABASE_URL (default a fresh SQLite file in the system
temp dir), BENCH_OUT (default bench/results/latest-<db>.json).
"""

import argparse
import json
import os
import platform
import secrets
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.models import OperationRun, Workspace, run_search
from app.models.runs import built_on
from app.operations import get_policy
from app.operations.clock import FrozenClock, SystemClock, now
from bench import generate
from bench.measures import measure_all
from config import Config, normalize_database_url

BENCH_SECRET_KEY = secrets.token_hex(32)


class BenchConfig(Config):
    """The production configuration (CSRF protection and rate limits on) with the bench's
    database, no embedded reconciler (the bench runs its passes itself) and a key of its own,
    new in each process."""

    def __init__(self, url):
        super().__init__()
        self.SQLALCHEMY_DATABASE_URI = normalize_database_url(url)
        self.RUNWARDEN_RECONCILER = "off"
        self.SECRET_KEY = BENCH_SECRET_KEY


def prepare(runs):
    """Reuse a bench database of the same size, or build one in an empty database."""
    inspector = sa.inspect(db.engine)
    if inspector.has_table("workspaces"):
        ws = db.session.scalar(sa.select(Workspace).where(Workspace.slug == "bench"))
        count = db.session.scalar(sa.select(sa.func.count()).select_from(OperationRun))
        if ws is not None and count == runs:
            print(f"reusing bench data: {count} runs")
            db.session.rollback()  # the count's transaction would block DROP INDEX on PostgreSQL
            if not _add_missing_indexes(inspector):
                # SQLite: a set generated before its statistics were left as they are now.
                # PostgreSQL: the dead rows earlier benches left (runs added, closed and
                # removed) are vacuumed, as autovacuum would, so a reused set reads like a
                # maintained one even on a server with autovacuum off.
                _analyze()
            return ws
        if count:
            raise SystemExit(
                f"{db.engine.url.render_as_string(hide_password=True)} holds other data "
                f"({count} runs); point DATABASE_URL at an empty database"
            )
        db.session.rollback()  # the count's transaction would block DROP on PostgreSQL
        db.drop_all()
    db.create_all()
    started = time.perf_counter()
    at = now()
    ws, tenants, _owner = generate.seed_accounts(at)
    generate.generate_runs(ws, tenants, get_policy(), at, runs)
    _analyze()
    print(f"generated {runs} runs in {time.perf_counter() - started:.1f} s")
    return ws


def _add_missing_indexes(inspector):
    """A reused data set gets the tables and indexes the models gained since it was
    generated, and again the indexes whose columns they changed; True when it needed any
    (statistics are then refreshed)."""
    added = []
    for table in db.metadata.sorted_tables:
        if not inspector.has_table(table.name):
            table.create(db.engine)
            added.append(table.name)
            continue
        present = {i["name"]: i.get("column_names") for i in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if not built_on(index, db.engine.dialect.name):
                continue
            columns = [column.name for column in index.columns]
            expression = any(not isinstance(e, sa.Column) for e in index.expressions)
            if index.name in present and (expression or present[index.name] == columns):
                continue  # as the models have it (an expression index is taken as it is)
            if index.name in present:  # the models changed its columns since
                index.drop(db.engine)
            index.create(db.engine)
            added.append(index.name)
    if db.engine.dialect.name == "sqlite" and not inspector.has_table(run_search.TABLE):
        with db.engine.begin() as connection:  # a set generated before migration 0012
            run_search.create(connection)
        added.append(run_search.TABLE)
    if added:
        print(f"created missing indexes: {', '.join(added)}")
        _analyze()
    return bool(added)


def _analyze():
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    else:
        from reconciler.maintenance import refresh_statistics

        db.session.commit()
        refresh_statistics(db.engine)  # as the embedded reconciler does every hour


def default_url(runs):
    """The bench's SQLite file for ``runs`` runs, in the system temp dir."""
    return f"sqlite:///{Path(tempfile.gettempdir()) / f'runwarden-bench-{runs}.db'}"


def machine():
    """A short description of this machine."""
    mem = ""
    try:
        with open("/proc/meminfo") as handle:
            kb = int(handle.readline().split()[1])
            mem = f", {kb / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    return f"{platform.machine()}, {os.cpu_count()} cores{mem}, Python {platform.python_version()}"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--runs", type=int, default=int(os.environ.get("RUNS", 1_000_000)))
    parser.add_argument("--requests", type=int, default=int(os.environ.get("BENCH_REQUESTS", 60)))
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL") or default_url(args.runs)
    # The data set is generated relative to one instant (the workspace's created_at) and
    # the app's clock stays there: a data set reused hours later still has its 2,000
    # active runs fresh, late and stale as generated, instead of all being due.
    clock = FrozenClock(SystemClock().now())
    app = create_app(BenchConfig(url), clock=clock)
    with app.app_context():
        ws = prepare(args.runs)
        clock.set(ws.created_at)
        dialect = db.engine.dialect.name
        before = cpu_reference_ms()
        results = measure_all(app, ws, args.requests)
        after = cpu_reference_ms()
    report = {
        "db": dialect,
        "runs": args.runs,
        "machine": machine(),
        "cpu_reference_ms": [before, after],
        "results": results,
    }
    out = Path(os.environ.get("BENCH_OUT") or f"bench/results/latest-{dialect}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print_table(report)
    print(f"report written to {out}")


def cpu_reference_ms(rounds=5):
    """Best of ``rounds`` timings of a fixed pure-Python loop: how fast this CPU was.

    Shared virtual machines change speed over minutes; figures measured while the
    reference was high are slower by about the same factor.
    """
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        total = 0
        for i in range(2_000_000):
            total += i
        best = min(best, (time.perf_counter() - started) * 1000)
    return round(best, 1)


def print_table(report):
    print(f"\n{report['db']} · {report['runs']:,} runs · {report['machine']}")
    before, after = report["cpu_reference_ms"]
    print(f"CPU reference (2M-step Python loop, best of 5): {before} ms before, {after} ms after")
    print(f"{'measure':<34}{'p50 ms':>10}{'p95 ms':>10}{'n':>6}")
    for name, value in report["results"].items():
        if "per_s" in value:
            print(f"{name:<34}{value['per_s']:>17.0f}/s{value['n']:>5}")
        else:
            print(f"{name:<34}{value['p50_ms']:>10.2f}{value['p95_ms']:>10.2f}{value['n']:>6}")


def summarize(samples_ms):
    """p50/p95 of a list of milliseconds."""
    ordered = sorted(samples_ms)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {
        "p50_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(p95, 3),
        "n": len(ordered),
    }


if __name__ == "__main__":
    main()
