"""Where a report's time goes, in one process: the Python CPU of each heartbeat (the
app's own share, apart from the database's) and the wall time of a call, one per call and
in batches of BENCH_BATCH, through the Flask test client on PostgreSQL.

    python -m bench.ingest_cpu [--profile]

DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/bench_api) is emptied and
rebuilt as ``make bench-ingest`` rebuilds it (it must not be named ``test``); BENCH_CALLS
single calls (300) and BENCH_CALLS // 10 batches. ``--profile`` prints a pyinstrument
profile of each measure (pyinstrument, in the dev extras). CPU time is far less disturbed by
a busy machine than wall time, which is why this measure exists next to the HTTP one.
"""

import os
import sys
import time

from bench.ingest_http import DEFAULT_URL, prepare, setting


def _client(url, first_token):
    from app import create_app
    from config import TestConfig

    app = create_app(TestConfig(url))
    app.config["API_REPORT_LIMIT"] = "1000000/second"  # the limit is not what is measured
    return app.test_client(), {"Authorization": f"Bearer {first_token}"}


def _calls(client, headers, first, runs, size):
    """A function sending call ``i`` with progress ``n`` (every run's ``processed`` grows)."""

    def call(i, n):
        if size == 1:
            url = f"/api/v1/runs/{first + i % runs}/heartbeat"
            answer = client.post(url, json={"processed": n}, headers=headers)
        else:
            ids = (first + (i * size + k) % runs for k in range(size))
            items = [{"run_id": run_id, "processed": n} for run_id in ids]
            answer = client.post("/api/v1/heartbeats", json={"items": items}, headers=headers)
        if answer.status_code != 200:
            raise SystemExit(f"bench: answer {answer.status_code}: {answer.get_data()[:300]}")

    return call


def measure(call, calls, size, profile):
    """{python_cpu_ms_per_heartbeat, wall_ms_per_call} over ``calls`` calls after a warm-up."""
    for i in range(10):
        call(i, 1 + i)
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(calls):
        call(i, 100 + i)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if profiler is not None:
        profiler.stop()
        print(profiler.output_text(color=False, unicode=False))
    return {
        "python_cpu_ms_per_heartbeat": round(cpu / calls / size * 1000, 3),
        "wall_ms_per_call": round(wall / calls * 1000, 2),
    }


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    if not url.startswith("postgresql") or url.rsplit("/", 1)[-1] == "test":
        raise SystemExit("bench: DATABASE_URL must be a PostgreSQL database other than test")
    runs, calls = setting("BENCH_RUNS", 10_000), setting("BENCH_CALLS", 300)
    size = setting("BENCH_BATCH", 100)
    first, secrets = prepare(url, runs, 1)
    client, headers = _client(url, secrets[0])
    results = {
        "single": measure(_calls(client, headers, first, runs, 1), calls, 1, "--profile" in argv),
        f"batch_{size}": measure(
            _calls(client, headers, first, runs, size),
            max(1, calls // 10),
            size,
            "--profile" in argv,
        ),
        "load_1min": os.getloadavg()[0],
    }
    print(results)
    return results


if __name__ == "__main__":
    main()
