"""Deadlines computed at read time, or stored on the row: ``python -m bench.deadlines``.

Today every read of "which runs are due" evaluates the freshness truth over the active
runs (the reconciler's candidate query, the SQL form) or reads them all and computes it
(a live page's plan, the Python form). The alternative stores each active run's next
deadlines on its row when it is written (``expected_at``, ``stale_at``, ``reconcile_at``,
the way Healthchecks stores ``alert_after``) and reads them through an index.

This times both, interleaved round by round, on a copy of a bench data set that it may
change: ``DATABASE_URL`` must point at a database of your own (it adds the three columns,
fills them for the active runs and indexes them; with ``ACTIVE`` above the active runs
it holds, it adds copies of them with new ids). Measures:

- ``candidates``: the reconciler's first batch (500 due runs with their tenant);
- ``any_due``: whether any run is due at all (every pass starts with it);
- ``plan``: the next time-only change of each active run of the workspace (live pages);
- ``heartbeat`` (PostgreSQL): 200 single-run heartbeat UPDATEs, as today and also
  recomputing the stored deadlines in SQL (rolled back).

``BENCH_REQUESTS`` rounds (default 30). Writes ``bench/results/deadlines-<db>.json``.
"""

import os
import time
from datetime import timedelta

import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.models import OperationRun, Workspace
from app.operations import get_policy
from app.operations.clock import FrozenClock, SystemClock
from app.operations.freshness import TICK, upcoming_stale_at
from app.operations.reads import RunReads, SystemReads
from app.operations.reads.binds import with_tenant
from app.operations.visibility import Scope
from bench.__main__ import BenchConfig, cpu_reference_ms, summarize
from bench.reporting import write_report

RUNS = OperationRun.__table__
ACTIVE_SQL = "status IN ('queued', 'running')"
COPY_OFFSET = 10_000_000
STORED = sa.Table(
    "operation_runs",
    sa.MetaData(),
    *(sa.Column(c.key, c.type) for c in RUNS.columns),
    sa.Column("expected_at", sa.DateTime),
    sa.Column("stale_at", sa.DateTime),
    sa.Column("reconcile_at", sa.DateTime),
)
ACTIVE = STORED.c.status.in_([sa.literal_column("'queued'"), sa.literal_column("'running'")])
RUN_ACTIVE = RUNS.c.status.in_([sa.literal_column("'queued'"), sa.literal_column("'running'")])


def _active_count():
    return db.session.scalar(sa.select(sa.func.count()).select_from(RUNS).where(RUN_ACTIVE))


def scale_active(target):
    """Copies of the generated active runs (new ids) until ``target`` runs are active."""
    base = _active_count()
    names = [c.key for c in RUNS.columns if c.key != "id"]
    copy = 1
    while _active_count() < target:
        take = min(base, target - _active_count())
        chosen = (
            sa.select(RUNS.c.id)
            .where(RUN_ACTIVE, RUNS.c.id < COPY_OFFSET)
            .order_by(RUNS.c.id)
            .limit(take)
        )
        source = sa.select(RUNS.c.id + copy * COPY_OFFSET, *(RUNS.c[n] for n in names)).where(
            RUNS.c.id.in_(chosen)
        )
        db.session.execute(sa.insert(RUNS).from_select(["id", *names], source))
        db.session.commit()
        copy += 1


def store_deadlines(policy):
    """Add the stored columns (once), fill them for every active run, index them."""
    present = {c["name"] for c in sa.inspect(db.engine).get_columns("operation_runs")}
    with db.engine.begin() as connection:
        for name in ("expected_at", "stale_at", "reconcile_at"):
            if name not in present:
                kind = "TIMESTAMP" if db.engine.dialect.name == "postgresql" else "DATETIME"
                connection.execute(sa.text(f"ALTER TABLE operation_runs ADD COLUMN {name} {kind}"))
    rows = []
    for run in db.session.execute(sa.select(RUNS).where(RUN_ACTIVE)):
        op_type = policy.for_type(run.type)
        start = run.created_at if run.status == "queued" else run.started_at
        expected = op_type.queued_expected if run.status == "queued" else op_type.running_expected
        stale = upcoming_stale_at(run, policy)
        rows.append(
            {
                "b_id": run.id,
                "b_expected": start + timedelta(seconds=expected),
                "b_stale": stale,
                "b_reconcile": stale + timedelta(seconds=op_type.reconcile_grace),
            }
        )
    update = (
        sa.update(STORED)
        .where(STORED.c.id == sa.bindparam("b_id"))
        .values(
            expected_at=sa.bindparam("b_expected"),
            stale_at=sa.bindparam("b_stale"),
            reconcile_at=sa.bindparam("b_reconcile"),
        )
    )
    db.session.execute(update, rows)
    db.session.commit()
    with db.engine.begin() as connection:
        for name, column in (("ix_dl_reconcile", "reconcile_at"), ("ix_dl_stale", "stale_at")):
            connection.execute(
                sa.text(
                    f"CREATE INDEX IF NOT EXISTS {name} ON operation_runs "
                    f"(workspace_id, {column}) WHERE {ACTIVE_SQL}"
                    if column == "stale_at"
                    else f"CREATE INDEX IF NOT EXISTS {name} ON operation_runs ({column}, id) "
                    f"WHERE {ACTIVE_SQL}"
                )
            )
        connection.execute(sa.text("ANALYZE"))
    return len(rows)


NOW = sa.bindparam("b_now", type_=sa.DateTime)
STORED_CANDIDATES = with_tenant(
    sa.select(*(STORED.c[c.key] for c in RUNS.columns))
    .where(ACTIVE, STORED.c.reconcile_at <= NOW)
    .order_by(STORED.c.id)
    .limit(500)
)
STORED_ANY = sa.select(STORED.c.id).where(ACTIVE, STORED.c.reconcile_at <= NOW).limit(1)
STORED_PLAN = (
    sa.select(STORED.c.id, STORED.c.tenant_id, STORED.c.expected_at, STORED.c.stale_at)
    .where(ACTIVE, STORED.c.workspace_id == sa.bindparam("b_ws"), STORED.c.stale_at >= NOW)
    .limit(5000)
)


def stored_plan(ws_id, now):
    """The stored design's plan: the next deadline not yet passed of each active run."""
    found = []
    for run_id, tenant_id, expected_at, stale_at in db.session.execute(
        STORED_PLAN, {"b_now": now, "b_ws": ws_id}
    ):
        at = min(expected_at, stale_at) if expected_at >= now else stale_at
        found.append((at + TICK, run_id, tenant_id))
    return found


def reads(ws, policy, now):
    """(name, today's read, the stored design's read) for each measure."""
    system = SystemReads(policy, now)
    owner = RunReads(Scope(ws.id, "owner", None), policy, now)
    values = {"b_now": now}
    candidates = STORED_CANDIDATES[0].order_by(STORED_CANDIDATES[1].c.id)
    return [
        (
            "candidates",
            lambda: system.due_batch(0, 500, False),
            lambda: db.session.execute(candidates, values).all(),
        ),
        ("any_due", system.any_due, lambda: db.session.execute(STORED_ANY, values).first()),
        ("plan", lambda: owner.transitions(), lambda: stored_plan(ws.id, now)),
    ]


def _stale_sql(op_type):
    """PostgreSQL: a running run's stale deadline after a heartbeat at ``:b_now``."""
    parts = [f"started_at + interval '{op_type.running_stale} seconds'"]
    if op_type.heartbeat_stale is not None:
        parts.append(f"CAST(:b_now AS timestamp) + interval '{op_type.heartbeat_stale} seconds'")
    if op_type.progress_stale is not None:
        parts.append(
            f"COALESCE(last_progress_at, started_at) + interval '{op_type.progress_stale} seconds'"
        )
    return f"LEAST({', '.join(parts)})"


def heartbeat_updates(policy):
    """(today's heartbeat UPDATE, the same recomputing the stored deadlines) as text."""
    names = policy.names()
    fallback = policy.for_type("\0unconfigured")
    stale = " ".join(f"WHEN '{n}' THEN {_stale_sql(policy.types[n])}" for n in names)
    stale = f"CASE type {stale} ELSE {_stale_sql(fallback)} END"
    grace = " ".join(f"WHEN '{n}' THEN {policy.types[n].reconcile_grace}" for n in names)
    grace = f"CASE type {grace} ELSE {fallback.reconcile_grace} END"
    today = "UPDATE operation_runs SET last_heartbeat_at = :b_now WHERE id = :b_id"
    stored = (
        f"UPDATE operation_runs SET last_heartbeat_at = :b_now, stale_at = {stale}, "
        f"reconcile_at = {stale} + {grace} * interval '1 second' WHERE id = :b_id"
    )
    return sa.text(today), sa.text(stored)


def _heartbeats(statement, ids, now):
    for run_id in ids:
        db.session.execute(statement, {"b_now": now, "b_id": run_id})
    db.session.rollback()


def _ms(call):
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def measure(ws, policy, now, rounds):
    """{name: {"today": summary, "stored": summary}}, interleaved round by round."""
    pairs = reads(ws, policy, now)
    if db.engine.dialect.name == "postgresql":
        ids = db.session.scalars(
            sa.select(RUNS.c.id).where(RUNS.c.status == "running").limit(200)
        ).all()
        plain, recomputing = heartbeat_updates(policy)
        pairs.append(
            (
                "heartbeat_200",
                lambda: _heartbeats(plain, ids, now),
                lambda: _heartbeats(recomputing, ids, now),
            )
        )
    results = {}
    for name, today, stored in pairs:
        samples = {"today": [], "stored": []}
        for _ in range(3):
            today(), stored(), db.session.rollback()
        for _ in range(rounds):
            samples["today"].append(_ms(today))
            db.session.rollback()
            samples["stored"].append(_ms(stored))
            db.session.rollback()
        results[name] = {kind: summarize(ms) for kind, ms in samples.items()}
        a, b = results[name]["today"], results[name]["stored"]
        print(f"  {name:<14} p50 today {a['p50_ms']:8.2f}  stored {b['p50_ms']:8.2f} ms")
    return results


def main():
    rounds = int(os.environ.get("BENCH_REQUESTS", 30))
    url = os.environ["DATABASE_URL"]
    app = create_app(BenchConfig(url), clock=FrozenClock(SystemClock().now()))
    with app.app_context():
        ws = db.session.scalar(sa.select(Workspace).where(Workspace.slug == "bench"))
        policy, now = get_policy(), ws.created_at
        if os.environ.get("ACTIVE"):
            scale_active(int(os.environ["ACTIVE"]))
        active = store_deadlines(policy)
        runs = db.session.scalar(sa.select(sa.func.count()).select_from(RUNS))
        print(f"{runs} runs, {active} active")
        before = cpu_reference_ms()
        results = measure(ws, policy, now, rounds)
        write_report(f"deadlines-{active}", runs, before, results, active=active)


if __name__ == "__main__":
    main()
