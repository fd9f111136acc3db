"""python -m bench.live_sweep: what the live worker spends on each change, in one process.

The production-shape data set and people (``bench.live_sites``), the page mix of the
production measure (``bench.live_load.plan_pages``) registered as clients without
sockets, and run changes written through the lifecycle service at ``--rate`` changes a
second (heartbeats with growing ``processed``, creates, completes). Every second the
dispatcher's sweep (``Dispatcher.process``) handles what arrived, as the live worker does.
Reported per sweep: wall time, process CPU, SQL statements, groups rendered and pushes
queued, bytes queued and what deflating the pushes costs once per client (the library's
permessage-deflate) and once per push (``app.live.deflate``): the socket threads' part,
not in the sweep. ``--profile`` prints cProfile's top functions.
No server, no socket, no browser: figures are the sweep alone, on this machine.
"""

import argparse
import cProfile
import io
import json
import pstats
import random
import tempfile
import time
import zlib
from collections import namedtuple
from pathlib import Path

import sqlalchemy as sa

from app.extensions import db
from app.live import get_live
from app.live.registry import (
    WATCH_LIST,
    WATCH_RUN,
    WATCH_TENANT,
    WATCH_WORKSPACE,
    Watch,
)
from app.models import OperationRun, User
from app.operations.clock import SystemClock
from app.operations.lifecycle import complete_run, create_run, heartbeat
from app.operations.sessions import start_session
from app.operations.visibility import scope_for_user
from bench.__main__ import machine, summarize
from bench.live_load import plan_pages
from bench.live_sites import ROOT, make_app, prepare_site
from bench.live_workload import QUICK_TYPES

ENDPOINTS = {
    "overview": (WATCH_WORKSPACE, "workspace.overview"),
    "dashboard": (WATCH_TENANT, "tenant.dashboard"),
    "list": (WATCH_LIST, "monitoring.operations"),
    "detail": (WATCH_RUN, "monitoring.run_detail"),
}
LONG_LIVED = 20
CHURN = 60
Change = namedtuple("Change", "run_id workspace_id tenant_id")


class _Socket:
    """Stands in for a client's socket: the sweep only queues to mailboxes."""

    sock = None
    connected = True


def _watch(spec, site, ws_id):
    kind, endpoint = ENDPOINTS[spec["kind"]]
    path, _, query = spec["page"].partition("?")
    args = tuple(pair.split("=", 1) for pair in query.split("&")) if query else ()
    view_args = ()
    if kind == WATCH_TENANT:
        uuid = next(t.uuid for t in site.tenants if t.id == spec["tenant_id"])
        view_args = (("tenant_uuid", uuid),)
    elif kind == WATCH_RUN:
        view_args = (("run_id", spec["run_id"]),)
    return Watch(
        kind,
        ws_id,
        tenant_id=spec["tenant_id"],
        run_id=spec["run_id"],
        page=spec["page"],
        endpoint=endpoint,
        view_args=view_args,
        args=tuple(tuple(a) for a in args),
    )


def _seed(site, clock, rng):
    """Running runs the changes work on: LONG_LIVED on detail pages, CHURN others."""
    dashboards = site.tenants[:10]
    runs = {}
    for i in range(LONG_LIVED + CHURN):
        tenant = (dashboards + site.tenants[10:20])[i % (10 if i < LONG_LIVED else 20)]
        run = create_run(
            workspace_id=site.workspace_id,
            tenant_id=tenant.id,
            type="baseline_compare",
            now=clock.now(),
            actor="bench",
            status="running",
            total=10_000_000 if i < LONG_LIVED else 1000,
            processed=0,
        )
        runs[run.id] = tenant.id
    long_lived = dict(list(runs.items())[:LONG_LIVED])
    return long_lived, list(runs)


def _change(site, clock, rng, active):
    """One run change through the lifecycle service; returns the change's feed tuple."""
    now = clock.now()
    roll = rng.random()
    if roll < 0.78 or len(active) < LONG_LIVED + 10:
        run = db.session.get(OperationRun, rng.choice(active))
        heartbeat(run, now=now, actor="bench", processed=(run.processed or 0) + rng.randint(1, 9))
    elif roll < 0.89:
        tenant = rng.choice(site.tenants[:20])
        run = create_run(
            workspace_id=site.workspace_id,
            tenant_id=tenant.id,
            type="baseline_compare",
            now=now,
            actor="bench",
            status="running",
            total=1000,
            processed=0,
        )
        active.append(run.id)
    else:
        run = db.session.get(OperationRun, active.pop(rng.randrange(LONG_LIVED, len(active))))
        complete_run(run, outcome="succeeded", now=now, actor="bench")
    db.session.commit()
    return Change(run.id, run.workspace_id, run.tenant_id)


class _Statements:
    def __init__(self, engine):
        self.count = 0
        sa.event.listen(engine, "before_cursor_execute", self._one)

    def _one(self, *args):
        self.count += 1


def _register(app, site, specs):
    live = get_live(app)
    scopes = {}
    for spec in specs:
        person = next(p for p in site.people if p.email == spec["user"])
        if person.user_id not in scopes:
            user = db.session.get(User, person.user_id)
            sid = start_session(user, SystemClock().now())
            scopes[person.user_id] = scope_for_user(user, site.workspace_id), sid
        scope, sid = scopes[person.user_id]
        watch = _watch(spec, site, site.workspace_id)
        live.registry.connect(_Socket(), person.user_id, watch, scope, sid)
    db.session.commit()
    return live


def _deflate_ms(stream, members):
    """Deflating ``stream`` once per member with a fresh context (the socket threads'
    cost of one push with permessage-deflate), in ms of this process's CPU."""
    data = stream.encode() if isinstance(stream, str) else bytes(stream)
    started = time.process_time()
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    compressor.compress(data)
    compressor.flush(zlib.Z_SYNC_FLUSH)
    return (time.process_time() - started) * 1000 * members


def measure(args):
    with tempfile.TemporaryDirectory() as tmp:
        types = Path(tmp) / "types.toml"
        types.write_text(QUICK_TYPES)
        site = prepare_site(args.database_url, args.runs, types, 4)
        app = make_app(args.database_url, types)
        app.config.update(LIVE_RENDER_THREADS=args.render_threads)
        clock, rng = SystemClock(), random.Random(7)
        with app.app_context():
            high_water = db.session.scalar(sa.select(sa.func.max(OperationRun.id)))
            try:
                return _sweeps(app, site, clock, rng, args)
            finally:
                from bench.measures import _remove_runs_after

                db.session.rollback()
                _remove_runs_after(high_water)
                db.session.remove()


def _sweeps(app, site, clock, rng, args):
    long_lived, active = _seed(site, clock, rng)
    specs = plan_pages(site, long_lived, args.clients)
    live = _register(app, site, specs)
    dispatcher, registry = live.dispatcher, live.registry
    counter = _Statements(db.engine)
    dispatcher.submit([], clock.now())
    dispatcher.process()
    for client in registry.snapshot():  # every page as it opens: one full round
        dispatcher.catch_up(client, None)
    dispatcher.process()
    rows, profiler = [], cProfile.Profile() if args.profile else None
    for _ in range(args.sweeps):
        changes = [_change(site, clock, rng, active) for _ in range(_poisson(rng, args.rate))]
        db.session.remove()
        rows.append(_one_sweep(dispatcher, registry, changes, clock, counter, profiler))
    report = _summary(rows, args, {s["kind"] for s in specs})
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(120)
        report["profile"] = out.getvalue()
    return report


def _poisson(rng, rate):
    count, t = 0, rng.expovariate(rate)
    while t < 1.0:
        count, t = count + 1, t + rng.expovariate(rate)
    return count


def _one_sweep(dispatcher, registry, changes, clock, counter, profiler):
    for client in registry.snapshot():
        client.take(0)
    statements, renders = counter.count, dispatcher.renders
    wall, cpu = time.perf_counter(), time.process_time()
    dispatcher.submit(changes, clock.now())
    if profiler is not None:
        profiler.enable()
    queued = dispatcher.process()
    if profiler is not None:
        profiler.disable()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    sent = [c for c in registry.snapshot() if c.pending]
    streams = {}
    for client in sent:
        stream = client.take(0)
        streams.setdefault(id(stream), [stream, 0])[1] += 1
    size = sum(len(s) * n for s, n in streams.values())
    deflate = sum(_deflate_ms(s, n) for s, n in streams.values())
    deflate_once = sum(_deflate_ms(s, 1) for s, _ in streams.values())
    return {
        "changes": len(changes),
        "wall_ms": wall * 1000,
        "cpu_ms": cpu * 1000,
        "statements": counter.count - statements,
        "renders": dispatcher.renders - renders,
        "pushes": queued,
        "kb_queued": size / 1024,
        "deflate_per_client_ms": deflate,
        "deflate_per_push_ms": deflate_once,
    }


def _summary(rows, args, kinds):
    changes = sum(r["changes"] for r in rows) or 1

    def total(key):
        return sum(r[key] for r in rows)

    return {
        "runs": args.runs,
        "clients": args.clients,
        "kinds": sorted(kinds),
        "rate": args.rate,
        "sweeps": len(rows),
        "changes": changes,
        "sweep_wall_ms": summarize([r["wall_ms"] for r in rows]),
        "sweep_cpu_ms": summarize([r["cpu_ms"] for r in rows]),
        "cpu_ms_per_change": total("cpu_ms") / changes,
        "wall_ms_per_change": total("wall_ms") / changes,
        "statements_per_sweep": total("statements") / len(rows),
        "renders_per_sweep": total("renders") / len(rows),
        "pushes_per_sweep": total("pushes") / len(rows),
        "kb_queued_per_sweep": total("kb_queued") / len(rows),
        "deflate_per_client_ms_per_sweep": total("deflate_per_client_ms") / len(rows),
        "deflate_once_per_push_ms_per_sweep": total("deflate_per_push_ms") / len(rows),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.live_sweep", description=__doc__)
    parser.add_argument("--database-url", required=True, help="PostgreSQL or SQLite URL")
    parser.add_argument("--runs", type=int, default=1_000_000, help="data set size")
    parser.add_argument("--clients", type=int, default=1000, help="registered pages")
    parser.add_argument("--rate", type=float, default=10.0, help="run changes per second")
    parser.add_argument("--sweeps", type=int, default=20, help="sweeps measured (one a second)")
    parser.add_argument("--render-threads", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="cProfile the sweeps")
    parser.add_argument("--out", help="report path (default bench/results/live-sweep-<db>.json)")
    args = parser.parse_args(argv)
    results = measure(args)
    profile = results.pop("profile", None)
    db_name = args.database_url.split(":", 1)[0]
    report = {"db": db_name, "machine": machine(), "results": results}
    out = Path(args.out) if args.out else ROOT / "bench" / "results" / f"live-sweep-{db_name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(json.dumps(results, indent=2))
    if profile:
        print(profile)
    return report


if __name__ == "__main__":
    main()
