"""The insights page at scale: ``python -m bench.insights`` (``make bench-insights``).

Uses the data set of ``make bench`` (same generator, same reuse rules, ``RUNS`` and
``DATABASE_URL`` as there: 90 days of runs, so the default 30-day window reads about a
third of them). The generator leaves every run's longest gaps at 0; the first run here
gives completed runs spread gaps (0-599 s between heartbeats, 0-1799 s between progress
steps) so their percentiles sort real values. Then the insights rollup is brought up to
the bench's now (as the reconciler's upkeep keeps it; the time is reported). Times the
page through the real app, signed in as the owner, for the whole workspace, one tenant,
one type and a 7-day window, with what the process holds by then frozen out of the
collector as a web worker freezes the app it loaded.
Writes ``bench/results/insights-<db>.json``.
"""

import gc
import os
import time
from datetime import datetime

import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.models import OperationRun, Tenant, User
from app.operations import get_policy
from app.operations.clock import FrozenClock, SystemClock
from app.operations.rollup import LAG, roll_up, rolled_until
from bench.__main__ import BenchConfig, cpu_reference_ms, default_url, prepare
from bench.measures import _login
from bench.reporting import time_pages, write_report

TARGET_P95_MS = 50


def spread_gaps():
    """Give the generated completed runs gaps to sort (once per data set)."""
    runs = OperationRun.__table__
    if db.session.scalar(sa.select(sa.func.count()).where(runs.c.heartbeat_gap_max > 0)):
        return
    started = time.perf_counter()
    db.session.execute(
        sa.update(runs)
        .where(runs.c.status == "completed")
        .values(heartbeat_gap_max=(runs.c.id * 7) % 600, progress_gap_max=(runs.c.id * 13) % 1800)
    )
    db.session.commit()
    print(f"spread gaps over the completed runs in {time.perf_counter() - started:.1f} s")


def build_rollup(clock):
    """Bring the insights rollup up to the bench's now, as the reconciler's upkeep does;
    (seconds it took, days built). A reused data set keeps its rollup: only the days since
    its mark are built again."""
    db.create_all()  # a data set made before the rollup's tables (0013) gets them
    policy, days, started = get_policy(), 0, time.perf_counter()
    while (rolled_until() or datetime.min) < clock.now() - LAG:
        days += len(roll_up(policy, clock.now()))
    seconds = time.perf_counter() - started
    print(f"built the insights rollup ({days} days) in {seconds:.1f} s")
    return seconds, days


def paths():
    """(measure, path) of the insights page."""
    tenant = db.session.scalar(sa.select(Tenant).order_by(Tenant.id).limit(1))
    return [
        ("insights_30d", "/admin/insights"),
        ("insights_7d", "/admin/insights?window=7d"),
        ("insights_tenant_30d", f"/admin/insights?tenant_id={tenant.id}"),
        ("insights_type_30d", "/admin/insights?type=inventory_sync"),
    ]


def main():
    runs = int(os.environ.get("RUNS", 1_000_000))
    n = int(os.environ.get("BENCH_REQUESTS", 20))
    url = os.environ.get("DATABASE_URL") or default_url(runs)
    clock = FrozenClock(SystemClock().now())
    app = create_app(BenchConfig(url), clock=clock)
    with app.app_context():
        ws = prepare(runs)
        clock.set(ws.created_at)
        spread_gaps()
        rollup_s, rollup_days = build_rollup(clock)
        client = app.test_client()
        _login(client, db.session.scalar(sa.select(User).where(User.email == "owner@bench.test")))
        before = cpu_reference_ms()
        gc.collect()
        gc.freeze()  # as a web worker does once it has loaded the app (gunicorn.conf.py)
        try:
            results = time_pages(client, paths(), n, TARGET_P95_MS, width=24)
        finally:
            gc.unfreeze()
        write_report(
            "insights",
            runs,
            before,
            results,
            target_p95_ms=TARGET_P95_MS,
            rollup_build_s=round(rollup_s, 2),
            rollup_days_built=rollup_days,
        )


if __name__ == "__main__":
    main()
