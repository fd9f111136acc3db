"""What keeping the longest gaps costs the report path: ``python -m bench.report_gaps``.

The ``api_ingest_throughput`` loop of ``make bench`` (create running, heartbeat,
complete, through the real app and the API) in interleaved rounds: with the gap columns
updated by the report's statement (as shipped) and with that part of the statement left
out (the statements rebuilt without it), so both see the same machine load. On a busy
machine single runs vary by a factor of two; the medians of many short interleaved rounds
are what to compare. ``DATABASE_URL`` (default a fresh SQLite file), ``ROUNDS`` (20),
``CYCLES`` per round (50).
"""

import os
import statistics
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.models import Tenant
from app.operations.clock import FrozenClock, SystemClock, now
from app.operations.store import postgresql as pg_store
from app.operations.store import rules
from app.operations.store import sqlite as sqlite_store
from bench import generate
from bench.__main__ import BenchConfig
from bench.measures import INGEST_TOKENS

BUILT = (
    rules.cas_statement,
    pg_store.events_write_statement,
    pg_store.heartbeat_statement,
    pg_store.heartbeats_statement,
    sqlite_store.heartbeat_statements,
)


@contextmanager
def without_gaps():
    """The report statements as they were before the gap columns."""
    for built in BUILT:
        built.cache_clear()
    with (
        mock.patch.object(rules.ReportRules, "gap_values", lambda self: {}),
        mock.patch.object(rules, "_completion_gaps", lambda at: {}),
    ):
        yield
    for built in BUILT:
        built.cache_clear()


def _computes_gaps():
    """Whether the completion statement built now computes the gaps (checks the patch)."""
    statement = rules.cas_statement(("queued", "running"), ("completed_at", "status"), 1)
    return "julianday" in str(statement.compile())


def cycles(client, tokens, tenant, n):
    """Calls per second of ``n`` create + heartbeat + complete cycles."""
    started = time.perf_counter()
    for i in range(n):
        headers = tokens[i % len(tokens)]
        body = {"type": "baseline_compare", "tenant": tenant.slug, "status": "running"}
        run_id = client.post("/api/v1/runs", json=body, headers=headers).get_json()["id"]
        client.post(f"/api/v1/runs/{run_id}/heartbeat", json={"processed": 5}, headers=headers)
        done = client.post(
            f"/api/v1/runs/{run_id}/complete", json={"outcome": "succeeded"}, headers=headers
        )
        if done.status_code != 200:
            raise RuntimeError(f"complete answered {done.status_code}")
    return 3 * n / (time.perf_counter() - started)


def main():
    from app.operations.tokens import create_token

    rounds = int(os.environ.get("ROUNDS", 20))
    n = int(os.environ.get("CYCLES", 50))
    url = os.environ.get("DATABASE_URL") or (
        f"sqlite:///{Path(tempfile.gettempdir()) / 'runwarden-report-gaps.db'}"
    )
    app = create_app(BenchConfig(url), clock=FrozenClock(SystemClock().now()))
    with app.app_context():
        db.drop_all()
        db.create_all()
        ws, tenants, _owner = generate.seed_accounts(now())
        tenant = db.session.scalar(sa.select(Tenant).where(Tenant.id == tenants[0].id))
        secrets = [create_token(ws, f"b{i}", now=now()).secret for i in range(INGEST_TOKENS)]
        tokens = [{"Authorization": f"Bearer {s}"} for s in secrets]
        client = app.test_client()
        cycles(client, tokens, tenant, 20)  # warm up
        with without_gaps():
            assert not _computes_gaps(), "the gaps were not left out"
        assert _computes_gaps()
        kept, left_out = [], []
        for _ in range(rounds):
            kept.append(cycles(client, tokens, tenant, n))
            with without_gaps():
                left_out.append(cycles(client, tokens, tenant, n))
        a, b = statistics.median(kept), statistics.median(left_out)
        print(f"{db.engine.dialect.name}: {rounds} rounds of {3 * n} calls each")
        print(f"  with gaps kept    median {a:7.1f} calls/s")
        print(f"  gaps left out     median {b:7.1f} calls/s")
        print(f"  cost of the gaps  {100 * (b - a) / b:+.1f} % of the throughput")
        db.session.remove()
        db.drop_all()


if __name__ == "__main__":
    main()
