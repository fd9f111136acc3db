"""The production-shape live measure (``python -m bench.live_latency --shape production``).

Web gunicorn, live gunicorn and reconciler process on PostgreSQL (or SQLite for the smoke
test), a generated runs data set, simulated browser pages (``bench.live_clients``, its own
process) and run changes through the worker API. Phases, each ``seconds`` long:

1. ``none``: no open page; run changes and page loads timed;
2. ``open``: ``clients`` open pages (the mix below), the same changes and page loads, quick
   runs whose freshness flips with time alone;
3. ``stalled``: the same once the stalled raw socket (``bench.live_stall``, opened with the
   pages, so that pushes to it fill its buffers during phase 2) has full buffers.

Between 1 and 2 the live process idles ``settle`` seconds with every page open (its CPU
then is the cost of open pages without changes). Figures: ``bench.live_figures``.
"""

import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import live_figures as figures
from bench import live_stages
from bench.live_sampling import CommitListener, Sampler, load_average, phase_report
from bench.live_sites import DASHBOARD_TENANTS, ROOT, Processes, cleanup, prepare_site
from bench.live_workload import QUICK_TYPES, Api, Flips, PageLoads, Writer

MIX = (("overview", 0.4), ("dashboard", 0.3), ("list", 0.2), ("detail", 0.1))
ROLE_SHARE = (("owner", 0.4), ("operator", 0.35), ("viewer", 0.25))
LIST_VARIANTS = (
    "",
    "?activeTab=active",
    "?activeTab=active_stale_attention",
    "?activeTab=terminal_follow_up",
    "tenant",
)
PAGES_PER_SESSION = 10
LONG_LIVED = 20
CHURN = 60
QUICK_RATE = 1.0  # quick runs: one create and one complete every 2 s
# --long-timeline: one long-lived run gets this share of the changes and up to HOT_PAGES of
# the detail pages (those whose viewer may see it), before its timeline is made long.
HOT_SHARE = 0.2
HOT_PAGES = 20


def plan_pages(site, long_lived, count, seed=3):
    """``count`` page specs: the MIX over people of ROLE_SHARE, at most 10 per session."""
    rng = random.Random(seed)
    dashboards = site.tenants[:DASHBOARD_TENANTS]
    specs, used = [], {}
    for _ in range(count):
        role = rng.choices(*zip(*ROLE_SHARE, strict=True))[0]
        person = rng.choice([p for p in site.people if p.role == role])
        visible = [t for t in dashboards if person.sees is None or t.id in person.sees]
        kind = rng.choices(*zip(*MIX, strict=True))[0]
        spec = {"kind": kind, "user": person.email, "tenant_id": None, "run_id": None}
        if kind == "dashboard":
            tenant = rng.choice(visible)
            spec.update(page=f"/admin/t/{tenant.uuid}", tenant_id=tenant.id)
            spec["track_flips"] = tenant.id == dashboards[0].id
        elif kind == "list":
            variant = rng.choice(LIST_VARIANTS)
            if variant == "tenant":
                tenant = rng.choice(visible)
                spec.update(page=f"/admin/operations?tenant_id={tenant.id}", tenant_id=tenant.id)
            else:
                spec["page"] = f"/admin/operations{variant}"
        elif kind == "detail":
            mine = [r for r, t in long_lived.items() if person.sees is None or t in person.sees]
            spec["run_id"] = rng.choice(mine)
            spec["page"] = f"/admin/operations/{spec['run_id']}"
        else:
            spec["page"] = "/admin"
        n = used.get(person.email, 0)
        used[person.email] = n + 1
        spec["cookie"] = person.cookies[(n // PAGES_PER_SESSION) % len(person.cookies)]
        spec["sees"] = sorted(person.sees) if person.sees is not None else None
        specs.append(spec)
    return specs


def seed_runs(api, site):
    """The active runs the writer works on: LONG_LIVED (detail pages) and CHURN others."""
    dashboards = site.tenants[:DASHBOARD_TENANTS]
    others = site.tenants[DASHBOARD_TENANTS : 2 * DASHBOARD_TENANTS]
    long_lived, runs = {}, {}
    for i in range(LONG_LIVED):
        tenant = dashboards[i % len(dashboards)]
        status, body, _, _ = api.create(tenant.slug, 10_000_000)
        if status != 201:
            raise RuntimeError(f"creating a run answered {status}: {str(body)[:300]}")
        long_lived[body["id"]] = tenant.id
        runs[body["id"]] = (tenant.id, tenant.slug, 0, 10_000_000)
    for i in range(CHURN):
        tenant = (dashboards + others)[i % (2 * DASHBOARD_TENANTS)]
        status, body, _, _ = api.create(tenant.slug, 1000)
        if status != 201:
            raise RuntimeError(f"creating a run answered {status}: {str(body)[:300]}")
        runs[body["id"]] = (tenant.id, tenant.slug, 0, 1000)
    weights = [(t.id, t.slug, 7.0 / len(dashboards)) for t in dashboards]
    weights += [(t.id, t.slug, 2.5 / len(others)) for t in others] + [(None, None, 0.5)]
    return long_lived, runs, weights


class Clients:
    """The simulated pages' process: ``open()`` waits until every page is connected."""

    def __init__(self, processes, specs, tmp, deadline, stalled=None, compression="deflate"):
        self.tmp = Path(tmp)
        base = f"127.0.0.1:{processes.live_port}"
        self.plan = {
            "url": f"ws://{base}/live/stream",
            "origin": f"http://{base}",
            "clients": specs,
            "deadline": deadline,
            "ready_file": str(self.tmp / "clients.ready"),
            "stop_file": str(self.tmp / "clients.stop"),
            "stalled": stalled,
            "compression": compression,
            "connect_rate": 150,
        }
        if stalled:
            stalled["full_file"] = str(self.tmp / "stall.full")
        self.proc = None

    def open(self, timeout):
        (self.tmp / "plan.json").write_text(json.dumps(self.plan))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.live_clients", "plan.json", "clients.json"],
            cwd=self.tmp,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        )
        ready = Path(self.plan["ready_file"])
        deadline = time.monotonic() + timeout
        while not ready.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the simulated pages did not all connect")
            time.sleep(0.2)
        time.sleep(0.2)
        return int(ready.read_text() or 0)

    def run_briefly(self, seconds):
        """Open every page, keep them ``seconds``, close them (warms the live process up)."""
        self.open(timeout=120)
        time.sleep(seconds)
        self.close()

    def fill(self, writer, rate, timeout):
        """Keep changes coming until the stalled socket's buffers are full."""
        started = time.time()
        full = Path(self.plan["stalled"]["full_file"])
        while not full.exists() and time.time() - started < timeout:
            writer.run_for(3, rate)
        return round(time.time() - started, 1), full.exists()

    def close(self):
        Path(self.plan["stop_file"]).touch()
        self.proc.wait(120)
        return json.loads((self.tmp / "clients.json").read_text())


def lengthen_timeline(url, types_path, run_id, events):
    """Give ``run_id`` ``events`` more timeline events (none for the baseline)."""
    if not events:
        return
    from bench.live_sites import make_app
    from bench.timeline import add_events

    started = time.perf_counter()
    with make_app(url, types_path).app_context():
        add_events(run_id, events)
    print(f"  gave run {run_id} {events:,} more events in {time.perf_counter() - started:.1f} s")


def point_at(specs, run_id, tenant_id):
    """Up to HOT_PAGES detail pages whose viewer may see ``run_id`` now show it."""
    pointed = 0
    for spec in specs:
        if pointed == HOT_PAGES:
            break
        if spec["kind"] == "detail" and (spec["sees"] is None or tenant_id in spec["sees"]):
            spec.update(run_id=run_id, page=f"/admin/operations/{run_id}")
            pointed += 1


def phase(name, writer, api_port, cookie, paths, seconds, rate, flips=None):
    """Run changes and page loads for ``seconds``; the window and what was recorded."""
    loader = PageLoads(api_port, cookie, paths)
    load = [load_average()]
    start, before = time.time(), len(writer.changes)
    loader.start()
    if flips:
        flips.start()
    writer.run_for(seconds, rate)
    if flips:
        flips.stop()
    loader.stop()
    end = time.time()
    changes = [c for c in writer.changes[before:] if c.get("status") in (200, 201)]
    return {
        "name": name,
        "hot": writer.hot,
        "scheduled": list(flips.scheduled) if flips else [],
        "start": start,
        "end": end,
        "changes": changes,
        "all_calls": writer.changes[before:],
        "loader": loader,
        "load": load + [load_average()],
    }


def measure(args):
    """Every phase; the report dictionary."""
    tmp = Path(tempfile.mkdtemp(prefix="runwarden-live-bench-"))
    types_path = tmp / "types.toml"
    types_path.write_text(QUICK_TYPES)
    sessions = max(1, -(-args.clients // (PAGES_PER_SESSION * 4)))
    site = prepare_site(args.database_url, args.runs, types_path, sessions)
    processes = Processes(args.database_url, types_path, tmp).start()
    try:
        return _measure(args, site, processes, tmp)
    finally:
        processes.stop()
        cleanup(args.database_url, types_path, site.high_water)
        print(f"logs in {tmp}")


def _measure(args, site, processes, tmp):
    listener = CommitListener(args.database_url)
    listener.start()
    listener.ready.wait(10)
    api = Api(processes.web_port, site.token)
    long_lived, runs, weights = seed_runs(api, site)
    hot = next(iter(long_lived)) if args.long_timeline is not None else None
    if hot is not None:
        lengthen_timeline(args.database_url, tmp / "types.toml", hot, args.long_timeline)
    writer = Writer(api, runs, long_lived, weights, hot=hot, hot_share=HOT_SHARE if hot else 0)
    owner = site.people[0]
    dashboard = site.tenants[0]
    paths = [
        ("overview", "/admin"),
        ("dashboard", f"/admin/t/{dashboard.uuid}"),
        ("list", "/admin/operations"),
    ]
    cookie = owner.cookies[0]
    specs = plan_pages(site, long_lived, args.clients)
    if hot is not None:
        point_at(specs, hot, long_lived[hot])
    warm = specs[:: max(1, len(specs) // 20)]
    deadline = time.time() + 6 * args.seconds + 600
    live_pid = processes.worker_pid("live")
    sampler = Sampler(live_pid)
    (tmp / "warm").mkdir()
    Clients(processes, warm, tmp / "warm", deadline).run_briefly(min(4, args.settle))
    rate = args.rate - QUICK_RATE
    PageLoads(processes.web_port, cookie, paths).warm_up()
    time.sleep(min(2, args.settle))
    sampler.mark("idle_empty")
    none = phase("none", writer, processes.web_port, cookie, paths, args.seconds, args.rate)
    sampler.mark("none")
    lists = [s for s in specs if s["kind"] == "list" and s["tenant_id"] is None] or specs
    biggest = min(lists, key=lambda s: s["sees"] is not None)  # an owner's, when there is one
    stalled = {"page": biggest["page"], "cookie": site.people[1].cookies[-1]}
    clients = Clients(processes, specs, tmp, deadline, stalled, args.compression)
    opened = clients.open(timeout=120 + args.clients / 10)
    sampler.mark("opened")
    time.sleep(args.settle)
    sampler.mark("idle_open")
    flips = Flips(api, dashboard.id, dashboard.slug, writer)
    open_ = phase("open", writer, processes.web_port, cookie, paths, args.seconds, rate, flips)
    sampler.mark("open")
    fill = clients.fill(writer, rate, args.fill_timeout)
    flips = Flips(api, dashboard.id, dashboard.slug, writer)
    stall = phase("stalled", writer, processes.web_port, cookie, paths, args.seconds, rate, flips)
    sampler.mark("stalled")
    # Pushes for the last changes are on their way: a pair counts as missed only when its
    # push is later than the figures' grace, so the clients stay open at least that long.
    time.sleep(max(figures.GRACE, min(10, 2 * args.settle)))
    # The profile has a phase of its own: sampling 1,000 threads slows the process down.
    profile = sampler.profile(args.profile, min(args.seconds, 30), tmp)
    if profile:
        writer.run_for(min(args.seconds, 30), rate)
        profile.wait(60)
    report = clients.close()
    listener.stop()
    commits = listener.commits()
    pages = report["pages"]
    groups = {}
    for spec in specs:
        role = next(p.role for p in site.people if p.email == spec["user"])
        key = (spec["page"], role, tuple(spec["sees"] or ()))
        groups.setdefault(spec["kind"], set()).add(key)
    for spec in specs:
        spec["sees"] = set(spec["sees"]) if spec["sees"] is not None else None
    return {
        "pages_open": opened,
        "mix": {kind: sum(1 for s in specs if s["kind"] == kind) for kind, _ in MIX},
        "render_groups": {kind: len(keys) for kind, keys in sorted(groups.items())},
        "phases": {
            p["name"]: phase_report(p, specs, pages, sampler, commits) for p in (none, open_, stall)
        },
        "live_process": sampler.summary(args.clients, len(open_["changes"])),
        "stalled_client": {**report["stalled"], "fill_seconds_and_full": fill},
        "reconnects": sum(max(0, p["counts"]["connects"] - 1) for p in pages),
        "revoked": sum(p["counts"]["revoked"] for p in pages),
        "stale_heartbeats": sum(p["counts"]["stale"] for p in pages),
        "count_messages": sum(p["counts"].get("count", 0) for p in pages),
        "push_stats_open": figures.push_stats(specs, pages, open_["start"], open_["end"]),
        "stages_open": live_stages.stages(open_, specs, pages, commits, tmp / "live-timing.log"),
        "clients_process_open": live_stages.client_process(
            report.get("loop_lag", []), open_["start"], open_["end"]
        ),
    }
