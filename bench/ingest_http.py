"""End-to-end ingestion through gunicorn over HTTP: heartbeats per second, one per call and
in batches, with wrk driving BENCH_CONNECTIONS concurrent workers.

    python -m bench.ingest_http            # or: make bench-ingest

DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/bench_api) is emptied and
rebuilt: it must not be named ``test``. BENCH_RUNS running runs (default 10,000) are
heartbeaten for BENCH_SECONDS (20) per measure after a 3 s warm-up, by BENCH_CONNECTIONS
(50) connections spread over BENCH_TOKENS (100) tokens (the per-token report limit stays
in force); batches carry BENCH_BATCH (100) items. gunicorn runs the production web shape
(gunicorn.conf.py, RUNWARDEN_WORKERS and RUNWARDEN_THREADS as given). Needs ``wrk``.

These are closed-loop maxima (BENCH_CLOSED=0 leaves them out). Then, unless BENCH_OPEN=0,
the same server is driven open-loop (bench/ingest_open.py) at the targets' arrival rates
for BENCH_SECONDS each: BENCH_RATE_SINGLE (1,000) single calls/s and BENCH_RATE_BATCH
(200) batches/s, over BENCH_OPEN_CONNECTIONS (100), with achieved rate, p95 counted from
each call's due time, errors and whether the server kept up.
"""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_api"
SCRIPT = ROOT / "bench" / "ingest.lua"
WRK_THREADS = 2


def setting(name, default):
    """An integer setting from the environment."""
    return int(os.environ.get(name, default))


def prepare(url, runs, tokens):
    """Rebuild the schema and insert a workspace, a tenant, ``runs`` running runs and
    ``tokens`` tokens; returns (first run id, token secrets)."""
    from app import create_app
    from app.extensions import db
    from app.models import OperationRun, Tenant, Workspace
    from app.operations.tokens import create_token
    from config import TestConfig

    app = create_app(TestConfig(url))
    with app.app_context():
        db.drop_all()
        db.create_all()
        now = datetime.now(UTC).replace(tzinfo=None)
        ws = Workspace(slug="bench", name="Bench", created_at=now)
        db.session.add(ws)
        db.session.flush()
        tenant = Tenant(
            workspace_id=ws.id, slug="bench-tenant", name="Bench tenant", created_at=now
        )
        db.session.add(tenant)
        db.session.commit()
        row = dict(workspace_id=ws.id, tenant_id=tenant.id, type="inventory_sync")
        row.update(status="running", outcome="pending", created_at=now, started_at=now)
        row.update(total=10**9, event_count=1)
        db.session.execute(sa.insert(OperationRun), [row] * runs)
        db.session.commit()
        first = db.session.scalar(sa.select(sa.func.min(OperationRun.id)))
        secrets = [create_token(ws, f"bench-{n}", now=now).secret for n in range(tokens)]
        # Statistics as a live database keeps them: without them the planner takes the
        # fresh table for a few rows and reads a batch's runs through the workspace index.
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
        db.engine.dispose()
    return first, secrets


def free_port():
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(url, port):
    """gunicorn on ``port`` in the production web shape; returns the process when healthy."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "RUNWARDEN_BIND": f"127.0.0.1:{port}",
        "RUNWARDEN_RECONCILER": "off",
        "RUNWARDEN_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),  # new for each run, as in production
        "METRICS_TOKEN": secrets.token_hex(16),
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen([str(gunicorn), "-c", "gunicorn.conf.py"], cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("bench: gunicorn did not become healthy within 30 s")


def wrk(port, mode, size, seconds, connections, first, runs, secrets):
    """One wrk measure; its summary (requests, latency percentiles, statuses)."""
    command = ["wrk", f"-t{WRK_THREADS}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
    command += ["-s", str(SCRIPT), f"http://127.0.0.1:{port}", "--", mode, str(size)]
    command += [str(first), str(runs), str(WRK_THREADS), *secrets]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    sys.stderr.write(done.stderr[:2000])
    output = done.stdout
    line = next(line for line in output.splitlines() if line.startswith("WRK "))
    return json.loads(line[4:])


def figures(summary, size):
    """Heartbeats and calls per second, latency in ms, from a wrk summary."""
    seconds = summary["duration_us"] / 1e6
    ok = summary["statuses"].get("200", 0)
    return {
        "calls_per_s": round(summary["requests"] / seconds, 1),
        "heartbeats_per_s": round(ok * size / seconds, 1),
        "p50_ms": round(summary["p50_us"] / 1000, 1),
        "p95_ms": round(summary["p95_us"] / 1000, 1),
        "p99_ms": round(summary["p99_us"] / 1000, 1),
        "statuses": summary["statuses"],
        "errors": summary["errors"],
    }


def open_measures(port, size, seconds, first, runs, secrets):
    """The open-loop measures (bench/ingest_open.py): single calls at BENCH_RATE_SINGLE
    (1,000/s) and batches at BENCH_RATE_BATCH (200/s), over BENCH_OPEN_CONNECTIONS (100),
    each after 3 s of warm-up at that rate."""
    from bench.ingest_open import open_loop

    connections = setting("BENCH_OPEN_CONNECTIONS", 100)
    results = {}
    for plan in (
        ("single", 1, setting("BENCH_RATE_SINGLE", 1000), 10**6),
        ("batch", size, setting("BENCH_RATE_BATCH", 200), 2 * 10**6),
    ):
        open_loop(port, plan, 3, connections, first, runs, secrets)  # warm-up
        plan = (*plan[:3], plan[3] + 10**5)
        load = loadavg()
        measure = open_loop(port, plan, seconds, connections, first, runs, secrets)
        measure.update(load_1min_before=load, load_1min_after=loadavg())
        results[f"open_{plan[0]}"] = measure
    return results


def loadavg():
    """The 1-minute load average."""
    with open("/proc/loadavg") as handle:
        return float(handle.read().split()[0])


def main():
    """Run both measures and write bench/results/ingest-http.json."""
    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    if sa.engine.make_url(url).database in ("test", None) or not url.startswith("postgres"):
        raise SystemExit("bench: DATABASE_URL must be a PostgreSQL database other than 'test'")
    if shutil.which("wrk") is None:
        raise SystemExit("bench: wrk is required (apt-get install wrk)")
    runs, seconds = setting("BENCH_RUNS", 10_000), setting("BENCH_SECONDS", 20)
    connections, size = setting("BENCH_CONNECTIONS", 50), setting("BENCH_BATCH", 100)
    first, secrets = prepare(url, runs, setting("BENCH_TOKENS", 100))
    port = free_port()
    load_before = loadavg()
    server = start_gunicorn(url, port)
    results = {}
    try:
        for mode, items in (("single", 1), ("batch", size)) * setting("BENCH_CLOSED", 1):
            wrk(port, mode, items, 3, connections, first, runs, secrets)  # warm-up
            summary = wrk(port, mode, items, seconds, connections, first, runs, secrets)
            results[f"heartbeats_{mode}"] = figures(summary, items)
        if setting("BENCH_OPEN", 1):
            results.update(open_measures(port, size, seconds, first, runs, secrets))
    finally:
        server.terminate()
        server.wait(timeout=30)
    report = {
        "db": "postgresql",
        "runs": runs,
        "connections": connections,
        "batch": size,
        "seconds": seconds,
        "gunicorn_workers": os.environ.get("RUNWARDEN_WORKERS", "2"),
        "gunicorn_threads": os.environ.get("RUNWARDEN_THREADS", "(gunicorn.conf.py default)"),
        "cpus": os.cpu_count(),
        "load_1min_before": load_before,
        "load_1min_after": loadavg(),
        "results": results,
    }
    out = ROOT / "bench" / "results" / "ingest-http.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
