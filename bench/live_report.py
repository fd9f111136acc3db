"""Run the production-shape live measure, write its JSON report and print its table."""

import json
from pathlib import Path

from bench.__main__ import cpu_reference_ms, machine
from bench.live_load import measure
from bench.live_sampling import load_average

ROOT = Path(__file__).resolve().parents[1]


def run_production(args):
    """The measure with ``args`` (see ``python -m bench.live_latency --help``); the report."""
    load_before, cpu_before = load_average(), cpu_reference_ms()
    results = measure(args)
    report = {
        "shape": "production",
        "db": args.database_url.split(":", 1)[0],
        "runs": args.runs,
        "clients": args.clients,
        "rate_per_s": args.rate,
        "seconds_per_phase": args.seconds,
        "compression": args.compression,
        "long_timeline": args.long_timeline,
        "machine": machine(),
        "cpu_reference_ms": [cpu_before, cpu_reference_ms()],
        "load_average": {"before": load_before, "after": load_average()},
        "results": results,
    }
    out = Path(args.out or ROOT / "bench" / "results" / "live-production.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str))
    print_table(report)
    print(f"report written to {out}")
    return report


def _fig(value):
    if not value or not value.get("n"):
        return "—"
    return f"{value['p50_ms']:.0f} / {value['p95_ms']:.0f} / {value['max_ms']:.0f} (n={value['n']})"


def print_table(report):
    """The measure's figures, one line each."""
    results = report["results"]
    phases = results["phases"]
    print(
        f"\nproduction shape · {report['db']} · {report['runs']:,} runs · "
        f"{results['pages_open']} pages open · {report['machine']}"
    )
    print(
        f"load average before {report['load_average']['before']}, after "
        f"{report['load_average']['after']}; CPU reference {report['cpu_reference_ms']} ms"
    )
    print(f"mix: {results['mix']}")
    for name in ("open", "stalled"):
        c2c = phases[name]["commit_to_client"]
        print(
            f"commit → client [{name}] p50/p95/max ms: {_fig(c2c['all'])}; "
            f"from send: {_fig(c2c['all_from_send'])}; over 1 s: "
            f"{c2c['all'].get('over_target')}; misses {c2c['misses']}"
        )
        for kind, value in c2c["by_kind"].items():
            print(f"    {kind:<10} {_fig(value)}")
        for part in ("other_runs", "hot_run"):
            if f"commit_to_client_{part}" in phases[name]:
                value = phases[name][f"commit_to_client_{part}"]
                print(f"    {part:<10} {_fig(value['all'])}; misses {value['misses']}")
        print(
            f"flip lateness [{name}]: {_fig(phases[name]['flip_lateness'])}, "
            f"missing {phases[name]['flip_lateness']['missing']}"
        )
    for name in ("none", "open", "stalled"):
        p = phases[name]
        print(
            f"[{name}] heartbeat API {_fig(p['worker_api_heartbeat'])}; "
            f"page loads {_fig(p['page_loads']['all'])}; load {p['load_before_after']}"
        )
    live = results["live_process"]
    print(
        f"live process: {live['cpu_s_per_change'] * 1000:.1f} ms CPU per change "
        f"({live['cpu_s_per_change_net_of_idle'] * 1000:.1f} net of idle), "
        f"{live['kib_per_open_page']} KiB per open page, idle with pages "
        f"{live['cpu_share_idle_with_pages']} cores"
    )
    if live.get("profile"):
        worker = live["profile"]["share_of_thread"].get("worker", {})
        print(f"profile of the live worker thread: {worker}")
    stalled = results["stalled_client"] or {}
    for sock in stalled.get("sockets", []):
        print(
            f"stalled socket: max waiting {sock['max_waiting']} B, server Send-Q max "
            f"{sock['max_send_q']} B, dropped after "
            f"{(sock['dropped'] - sock['opened']) if sock['dropped'] else None} s"
        )
