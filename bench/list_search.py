"""List search and time range at scale: ``python -m bench.list_search``.

Uses the data set of ``make bench`` (same generator, same reuse rules, ``RUNS`` and
``DATABASE_URL`` as there) and times the list page through the real app, signed in as
the owner: search by id, by a common and a rarer text, by text found nowhere, the time
ranges, both combined, and the duration order. Writes ``bench/results/list-search-<db>.json``.
"""

import json
import os
import time
from pathlib import Path

import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.models import User
from app.operations.clock import FrozenClock, SystemClock
from bench.__main__ import BenchConfig, cpu_reference_ms, default_url, machine, prepare
from bench.measures import SEARCH_TARGET_P95_MS as TARGET_P95_MS
from bench.measures import _login, _timed, search_paths


def main():
    runs = int(os.environ.get("RUNS", 1_000_000))
    n = int(os.environ.get("BENCH_REQUESTS", 60))
    url = os.environ.get("DATABASE_URL") or default_url(runs)
    clock = FrozenClock(SystemClock().now())
    app = create_app(BenchConfig(url), clock=clock)
    with app.app_context():
        ws = prepare(runs)
        clock.set(ws.created_at)
        client = app.test_client()
        _login(client, db.session.scalar(sa.select(User).where(User.email == "owner@bench.test")))
        before, results = cpu_reference_ms(), {}
        for name, path in search_paths(ws):
            results[name] = _timed(client, path, n)
            verdict = "ok" if results[name]["p95_ms"] <= TARGET_P95_MS else "OVER"
            print(
                f"  {name:<32} p50 {results[name]['p50_ms']:7.2f}  p95 "
                f"{results[name]['p95_ms']:7.2f} ms  {verdict}"
            )
        dialect = db.engine.dialect.name
        report = {
            "db": dialect,
            "runs": runs,
            "machine": machine(),
            "loadavg": Path("/proc/loadavg").read_text().split()[:3],
            "cpu_reference_ms": [before, cpu_reference_ms()],
            "target_p95_ms": TARGET_P95_MS,
            "results": results,
            "at": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
    out = Path(os.environ.get("BENCH_OUT") or f"bench/results/list-search-{dialect}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"report written to {out}")


if __name__ == "__main__":
    main()
