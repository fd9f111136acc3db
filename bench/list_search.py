"""List search and time range at scale: ``python -m bench.list_search``.

Uses the data set of ``make bench`` (same generator, same reuse rules, ``RUNS`` and
``DATABASE_URL`` as there) and times the list page through the real app, signed in as
the owner: search by id, by a common and a rarer text, by text found nowhere, the time
ranges, both combined, and the duration order. Writes ``bench/results/list-search-<db>.json``.
"""

import os

import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.models import User
from app.operations.clock import FrozenClock, SystemClock
from bench.__main__ import BenchConfig, cpu_reference_ms, default_url, prepare
from bench.measures import SEARCH_TARGET_P95_MS as TARGET_P95_MS
from bench.measures import _login, search_paths
from bench.reporting import time_pages, write_report


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
        before = cpu_reference_ms()
        results = time_pages(client, search_paths(ws), n, TARGET_P95_MS, width=32)
        write_report("list-search", runs, before, results, target_p95_ms=TARGET_P95_MS)


if __name__ == "__main__":
    main()
