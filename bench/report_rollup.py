"""What the insights rollup costs the report path: ``python -m bench.report_rollup``.

The rollup is built by the reconciler's upkeep, never by a report: the report's
statements are unchanged. What the report path does carry is the index the rollup reads
completions by (``ix_runs_completed``, partial on ``completed_at IS NOT NULL``): a
completion adds one entry to it; a heartbeat of an active run adds none. This runs the
``api_ingest_throughput`` loop (create running, heartbeat, complete, through the real
app and the API, as ``bench.report_gaps``) in interleaved rounds with the index (as
shipped) and without it (dropped for the round), so both see the same machine load.
``DATABASE_URL`` (default a fresh SQLite file), ``ROUNDS`` (20), ``CYCLES`` per round (50).
"""

import os
import statistics
import tempfile
from pathlib import Path
from types import SimpleNamespace

import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.models import OperationRun, Tenant
from app.operations.clock import FrozenClock, SystemClock, now
from app.operations.tokens import create_token
from bench import generate
from bench.__main__ import BenchConfig
from bench.measures import INGEST_TOKENS
from bench.report_gaps import cycles

INDEX = next(i for i in OperationRun.__table__.indexes if i.name == "ix_runs_completed")


def _round(client, tokens, tenant, n, with_index):
    db.session.remove()  # no transaction of the app's holds the table while it changes
    if not with_index:
        INDEX.drop(db.engine)
    try:
        return cycles(client, tokens, tenant, n)
    finally:
        if not with_index:
            INDEX.create(db.engine)


def main():
    rounds = int(os.environ.get("ROUNDS", 20))
    n = int(os.environ.get("CYCLES", 50))
    url = os.environ.get("DATABASE_URL") or (
        f"sqlite:///{Path(tempfile.gettempdir()) / 'runwarden-report-rollup.db'}"
    )
    app = create_app(BenchConfig(url), clock=FrozenClock(SystemClock().now()))
    with app.app_context():
        db.drop_all()
        db.create_all()
        ws, tenants, _owner = generate.seed_accounts(now())
        slug = db.session.scalar(sa.select(Tenant.slug).where(Tenant.id == tenants[0].id))
        tenant = SimpleNamespace(slug=slug)
        secrets = [create_token(ws, f"b{i}", now=now()).secret for i in range(INGEST_TOKENS)]
        tokens = [{"Authorization": f"Bearer {s}"} for s in secrets]
        client = app.test_client()
        cycles(client, tokens, tenant, 20)  # warm up
        kept, dropped = [], []
        for _ in range(rounds):
            kept.append(_round(client, tokens, tenant, n, True))
            dropped.append(_round(client, tokens, tenant, n, False))
        a, b = statistics.median(kept), statistics.median(dropped)
        print(f"{db.engine.dialect.name}: {rounds} rounds of {3 * n} calls each")
        print(f"  with ix_runs_completed     median {a:7.1f} calls/s")
        print(f"  without it                 median {b:7.1f} calls/s")
        print(f"  cost of the index          {100 * (b - a) / b:+.1f} % of the throughput")
        db.session.remove()
        db.drop_all()


if __name__ == "__main__":
    main()
