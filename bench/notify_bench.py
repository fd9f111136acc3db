"""python -m bench.notify_bench: STALE runs go likely stale at once, by time alone.

On a data set of RUNS runs (the reconciler benchmark's, generated once and reused), STALE
running runs are added that all cross their stale deadline at the same instant a few
seconds later, with no write at all. The real scheduler (ReconcilerService, system clock,
a tick a second) finds them, groups them and delivers to CHANNELS webhook channels served
by a local HTTP receiver. Reported: first delivery and last delivery after the deadline,
messages and events received; and the reconciler's own pass time (empty passes, and a
pass closing STALE runs) with and without the notification triggers and sender.

Environment: DATABASE_URL (PostgreSQL; default postgresql://postgres@127.0.0.1:5432/
bench_notify), RUNS (default 1,000,000), STALE (10,000), CHANNELS (10), BENCH_OUT.
"""

import argparse
import json
import logging
import os
import threading
import time
from datetime import UTC, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.models import OperationRun, Tenant, Workspace
from app.models.notifications import create_triggers
from app.notifications.channels import create_channel
from app.operations.clock import SystemClock, now
from bench import generate, reconcile_bench
from bench.__main__ import BenchConfig, machine, summarize
from reconciler.loop import ReconcilerService

NOTIFY_TABLES = (
    "notification_attempts",
    "notification_items",
    "notification_deliveries",
    "notification_events",
    "notification_mutes",
    "notification_channels",
)


class Receiver(ThreadingHTTPServer):
    """Records (arrival time, path, events in the body) of every POST."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen = []
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server.lock:
            self.server.seen.append((time.time(), self.path, body["total"], body["title"]))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class TickLog(logging.Handler):
    """Keeps the scheduler's notification tick lines (what each step did and its ms)."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.ticks = []

    def emit(self, record):
        try:
            line = json.loads(record.getMessage())
        except ValueError:
            return
        if isinstance(line, dict) and line.get("event") == "notifications_tick":
            self.ticks.append((record.created, line))

    def report(self, since):
        """Each tick that did something: its end relative to ``since``, counts and ms."""
        keys = ("stale", "recovered", "routed", "grouped", "sent", "ms")
        return [
            {"ended_s": round(at - since, 2), **{k: line.get(k) for k in keys}}
            for at, line in self.ticks
        ]


def _clear_notifications():
    for table in NOTIFY_TABLES:
        db.session.execute(sa.text(f"DELETE FROM {table}"))
    db.session.commit()


def _channels(receiver, count):
    ws = db.session.scalar(sa.select(Workspace).where(Workspace.slug == "bench"))
    tenants = db.session.scalars(sa.select(Tenant.id).where(Tenant.workspace_id == ws.id)).all()
    port = receiver.server_address[1]
    for n in range(count):
        # half of them take every tenant, half a tenth of the tenants each
        some = None if n % 2 == 0 else tenants[n % 10 :: 10]
        create_channel(
            workspace_id=ws.id,
            name=f"bench-{n}",
            kind="webhook",
            target=f"http://127.0.0.1:{port}/c{n}",
            events=["stale", "reconciled", "failed", "recovered"],
            tenant_ids=some,
            now=now(),
        )
    db.session.commit()
    return ws, tenants


def _add_going_stale(ws, tenants, count, lead_seconds):
    """``count`` report_export runs (running_stale 20 min, no heartbeat rule) whose deadline
    is ``lead_seconds`` from now; returns (deadline, first id)."""
    high_water = db.session.scalar(sa.select(sa.func.max(OperationRun.id))) or 0
    deadline = now() + timedelta(seconds=lead_seconds)
    started = deadline - timedelta(seconds=20 * 60)
    rows = []
    for i in range(count):
        row = dict.fromkeys(generate.COLUMNS)
        row.update(
            workspace_id=ws.id,
            tenant_id=tenants[i % len(tenants)],
            type="report_export",
            status="running",
            outcome="pending",
            created_at=started,
            started_at=started,
        )
        rows.append(row)
    generate._flush(rows)
    db.session.commit()
    return deadline, high_water


def _expected_events(count, tenants, channels):
    per_tenant = count / len(tenants)
    total = 0
    for n in range(channels):
        total += count if n % 2 == 0 else round(per_tenant * len(tenants[n % 10 :: 10]))
    return total


def measure_delivery(app, stale, channels, timeout=120):
    """The time-only transition of ``stale`` runs, delivered by the real scheduler."""
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    _clear_notifications()
    ws, tenants = _channels(receiver, channels)
    expected = _expected_events(stale, tenants, channels)
    ticks = TickLog()
    logger = logging.getLogger("runwarden.reconciler")
    logger.addHandler(ticks)
    logger.setLevel(logging.INFO)
    service = ReconcilerService(app, "bench").start()
    try:
        time.sleep(3)  # the first reconciler pass and sender ticks of a running service
        deadline, high_water = _add_going_stale(ws, tenants, stale, lead_seconds=5)
        stale_at = deadline.replace(tzinfo=UTC).timestamp()
        ends = time.time() + timeout
        while time.time() < ends:
            with receiver.lock:
                got = sum(total for _, _, total, _ in receiver.seen)
            if got >= expected:
                break
            time.sleep(0.2)
    finally:
        service.stop()
        receiver.shutdown()
        logger.removeHandler(ticks)
    seen = sorted(receiver.seen)
    events = sum(total for _, _, total, _ in seen)
    result = {
        "stale_runs": stale,
        "channels": channels,
        "expected_events": expected,
        "received_events": events,
        "messages": len(seen),
        "first_delivery_s": round(seen[0][0] - stale_at, 2) if seen else None,
        "last_delivery_s": round(seen[-1][0] - stale_at, 2) if seen else None,
        "titles": sorted({title for _, _, _, title in seen})[:5],
        "ticks": ticks.report(stale_at),
    }
    _clear_notifications()
    reconcile_bench._remove_after(high_water)
    return result


def _settle_active_runs():
    """Complete the generated set's active runs: on a reused set (system clock) they are
    long due, and only the measured runs should change state."""
    db.session.execute(
        sa.update(OperationRun)
        .where(OperationRun.status.in_(("queued", "running")))
        .values(status="completed", outcome="succeeded", completed_at=now())
    )
    db.session.commit()


def _drop_triggers():
    with db.engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS notify_run_failures ON run_events")


def _with_triggers():
    with db.engine.begin() as conn:
        create_triggers(conn)


def _close_stale(count, batch):
    """ms of one pass closing ``count`` stale runs (added, then removed with their news)."""
    ws = db.session.scalar(sa.select(Workspace).where(Workspace.slug == "bench"))
    tenants = db.session.scalars(sa.select(Tenant.id).where(Tenant.workspace_id == ws.id)).all()
    _, high_water = _add_going_stale(ws, tenants, count, lead_seconds=-2 * 24 * 3600)
    try:
        ms, summary = reconcile_bench._timed_pass(batch_size=batch)
        assert summary.reconciled == count, summary
    finally:
        db.session.rollback()
        _clear_notifications()
        reconcile_bench._remove_after(high_water)
    return round(ms, 1)


def _setup(label):
    """The outbox trigger and one channel wanting closures, or neither."""
    _clear_notifications()
    if label == "without_notifications":
        _drop_triggers()
        return
    _with_triggers()
    ws = db.session.scalar(sa.select(Workspace).where(Workspace.slug == "bench"))
    create_channel(
        workspace_id=ws.id,
        name="bench-reconciler",
        kind="webhook",
        target="http://127.0.0.1:9/none",
        events=["reconciled"],
        tenant_ids=None,
        now=now(),
    )
    db.session.commit()


def measure_reconciler(app, stale, repeat):
    """The reconciler's pass time with the outbox trigger (and a channel) and without,
    alternated so that a drifting machine affects both alike."""
    batch = app.config["RECONCILER_BATCH_SIZE"]
    labels = ("without_notifications", "with_notifications")
    empty, closing = {k: [] for k in labels}, {k: [] for k in labels}
    for _ in range(repeat):
        for label in labels:
            _setup(label)
            empty[label] += [reconcile_bench._timed_pass(batch_size=batch)[0] for _ in range(10)]
            closing[label].append(_close_stale(stale, batch))
    _with_triggers()
    _clear_notifications()
    return {k: {"empty_pass": summarize(empty[k]), "close_stale_ms": closing[k]} for k in labels}


def verdict(delivery, reconciler):
    """The issue's targets, met or not, next to the figures they come from."""
    first, last = delivery["first_delivery_s"], delivery["last_delivery_s"]
    closing = {k: min(v["close_stale_ms"]) for k, v in reconciler.items()}
    empty = {k: v["empty_pass"]["p50_ms"] for k, v in reconciler.items()}
    return {
        "first_delivery_within_5_s": first is not None and first <= 5,
        "all_delivered_within_30_s": last is not None
        and last <= 30
        and delivery["received_events"] == delivery["expected_events"],
        "one_message_per_channel": delivery["messages"] == delivery["channels"],
        "reconciler_close_ms_best_without_with": [
            closing["without_notifications"],
            closing["with_notifications"],
        ],
        "reconciler_empty_p50_ms_without_with": [
            empty["without_notifications"],
            empty["with_notifications"],
        ],
    }


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.notify_bench", description=__doc__)
    parser.add_argument("--runs", type=int, default=int(os.environ.get("RUNS", 1_000_000)))
    parser.add_argument("--stale", type=int, default=int(os.environ.get("STALE", 10_000)))
    parser.add_argument("--channels", type=int, default=int(os.environ.get("CHANNELS", 10)))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bench_notify")
    app = create_app(BenchConfig(url), clock=SystemClock())
    app.config["RECONCILER_INTERVAL_SECONDS"] = 30
    with app.app_context():
        generated_s = reconcile_bench.prepare(args.runs)
        _settle_active_runs()
        load = Path("/proc/loadavg").read_text().split()[:3]
        print(f"delivering {args.stale:,} runs going stale at once to {args.channels} channels")
        delivery = measure_delivery(app, args.stale, args.channels)
        print(json.dumps(delivery))
        print("reconciler passes with and without notifications")
        reconciler = measure_reconciler(app, args.stale, args.repeat)
        print(json.dumps(reconciler))
        dialect = db.engine.dialect.name
    report = {
        "targets": verdict(delivery, reconciler),
        "db": dialect,
        "runs": args.runs,
        "generated_s": round(generated_s, 1),
        "machine": machine(),
        "loadavg_before": load,
        "loadavg_after": Path("/proc/loadavg").read_text().split()[:3],
        "delivery": delivery,
        "reconciler": reconciler,
    }
    out = Path(os.environ.get("BENCH_OUT") or f"bench/results/notify-{dialect}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report["targets"]))
    print(f"report written to {out}")


if __name__ == "__main__":
    main()
