"""What the page benches share: timing named pages against a target, and the report file."""

import json
import os
import time
from pathlib import Path

from app.extensions import db
from bench.__main__ import cpu_reference_ms, machine
from bench.measures import _timed


def time_pages(client, named_paths, n, target_ms, width=32):
    """Time each ``(name, path)`` ``n`` times; print p50 / p95 against ``target_ms``."""
    results = {}
    for name, path in named_paths:
        results[name] = summary = _timed(client, path, n)
        verdict = "ok" if summary["p95_ms"] <= target_ms else "OVER"
        print(
            f"  {name:<{width}} p50 {summary['p50_ms']:8.2f}  p95 "
            f"{summary['p95_ms']:8.2f} ms  {verdict}"
        )
    return results


def write_report(kind, runs, cpu_before, results, **extra):
    """Write ``bench/results/<kind>-<db>.json`` (or BENCH_OUT), inside the app context."""
    dialect = db.engine.dialect.name
    report = {
        "db": dialect,
        "runs": runs,
        "machine": machine(),
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
        "cpu_reference_ms": [cpu_before, cpu_reference_ms()],
        **extra,
        "results": results,
        "at": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    out = Path(os.environ.get("BENCH_OUT") or f"bench/results/{kind}-{dialect}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"report written to {out}")
    return report
