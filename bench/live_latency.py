"""python -m bench.live_latency: commit → browser DOM latency of live updates.

``--shape production`` runs the production-shape measure with simulated browser pages
instead (``bench.live_load``: web and live gunicorn, a reconciler process, 1,000 pages).
The other shapes, each with headless Chromium (/usr/bin/chromium) on a tenant
dashboard while this process commits run changes through the lifecycle service:

- ``sqlite``: one web process (threaded Werkzeug) on a SQLite file, the relay tailing
  the change feed;
- ``postgres``: gunicorn with two gthread workers on PostgreSQL (``--database-url``, an
  empty database: its tables are dropped), woken by LISTEN/NOTIFY; completions go through
  the HTTP API, so they are committed by whichever worker takes them.

Latency is measured from the moment the commit returns in the writing process to the
moment a MutationObserver in the page sees the overlay change (one clock: same host).
Each change waits for the previous one to show, then a random 0–250 ms, so commits do
not fall into step with the SQLite relay's 100 ms tailing. It also measures time-only flips: a
``quick_check`` run turns past-expected 4 s and likely stale 8 s after it started, with
no write; the report gives observed − scheduled. Results: bench/results/live-<shape>.json.
"""

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, timedelta
from pathlib import Path

from app.extensions import db
from app.models import OperationRun
from app.operations.clock import SystemClock
from app.operations.lifecycle import complete_run, create_run
from bench.__main__ import machine, summarize
from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PASSWORD,
    ROOT,
    LiveServer,
    build_site,
    free_port,
)

OBSERVER = """
(() => {
  window.__seen = {}; window.__gone = {}; window.__states = {};
  const stamp = () => performance.timeOrigin + performance.now();
  const mark = () => {
    const now = stamp(), present = new Set();
    document.querySelectorAll('#active-operations [data-run-id]').forEach((el) => {
      const id = el.getAttribute('data-run-id');
      present.add(id);
      if (!(id in window.__seen)) window.__seen[id] = now;
      const key = id + ':' + el.getAttribute('data-freshness');
      if (!(key in window.__states)) window.__states[key] = now;
    });
    for (const id in window.__seen) {
      if (!present.has(id) && !(id in window.__gone)) window.__gone[id] = now;
    }
  };
  new MutationObserver(mark).observe(document.body, {
    subtree: true, childList: true, attributes: true, attributeFilter: ['data-freshness'],
  });
  mark();
})();
"""


LAST_PUSH = "window.RunwardenLive.state.lastPushAt"


def epoch_ms(naive_utc):
    return naive_utc.replace(tzinfo=UTC).timestamp() * 1000


class Bench:
    def __init__(self, site, base, page):
        self.site, self.base, self.page = site, base, page
        self.rng = random.Random(5)

    def create(self, type="baseline_compare"):
        with self.site.app.app_context():
            run = create_run(
                workspace_id=self.site.workspace_id,
                tenant_id=self.site.alpha.id,
                type=type,
                now=SystemClock().now(),
                actor="bench",
                status="running",
            )
            committed = time.time() * 1000
            run_id, started = run.id, run.started_at
            db.session.remove()
        return run_id, committed, started

    def complete_direct(self, run_id):
        with self.site.app.app_context():
            run = db.session.get(OperationRun, run_id)
            complete_run(run, outcome="succeeded", now=SystemClock().now(), actor="bench")
            committed = time.time() * 1000
            db.session.remove()
        return committed

    def complete_api(self, run_id):
        request = urllib.request.Request(
            f"{self.base}/api/v1/runs/{run_id}/complete",
            data=b'{"outcome": "succeeded"}',
            headers={
                "Authorization": f"Bearer {self.site.token}",
                "Content-Type": "application/json",
            },
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10):
            return time.time() * 1000

    def wait(self, value, timeout=10_000):
        """Wait until the page-side ``value`` (a JS expression) is set; return it."""
        self.page.wait_for_function(f"{value} !== undefined", timeout=timeout)
        return self.page.evaluate(value)

    def changes(self, count, complete):
        """(commit → DOM, commit → socket message) in ms for ``count`` changes."""
        to_dom, to_socket = [], []
        for _ in range(count // 2):
            time.sleep(self.rng.uniform(0, 0.25))
            run_id, committed, _ = self.create()
            to_dom.append(self.wait(f"window.__seen['{run_id}']") - committed)
            to_socket.append(self.page.evaluate(LAST_PUSH) - committed)
            time.sleep(self.rng.uniform(0, 0.25))
            committed = complete(run_id)
            to_dom.append(self.wait(f"window.__gone['{run_id}']") - committed)
            to_socket.append(self.page.evaluate(LAST_PUSH) - committed)
        return to_dom, to_socket

    def flips(self, count):
        errors = []
        for _ in range(count):
            run_id, _, started = self.create("quick_check")
            for state, after in (("past_expected", 4), ("likely_stale", 8)):
                seen = self.wait(f"window.__states['{run_id}:{state}']", 15_000)
                errors.append(seen - epoch_ms(started + timedelta(seconds=after)))
            self.complete_direct(run_id)
        return errors


def sign_in(browser, base):
    page = browser.new_context(bypass_csp=True).new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=email]", "owner@example.test")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    return page


def measure(shape, site, base, args, browser):
    page = sign_in(browser, base)
    page.goto(f"{base}/admin/t/{site.alpha.uuid}")
    page.wait_for_selector("#live-status[data-state=live]", timeout=15_000)
    page.evaluate(OBSERVER)
    bench = Bench(site, base, page)
    complete = bench.complete_api if shape == "postgres" else bench.complete_direct
    try:
        bench.changes(10, complete)
        to_dom, to_socket = bench.changes(args.changes, complete)
        return {
            "commit_to_dom": summarize(to_dom),
            "commit_to_socket_message": summarize(to_socket),
            "flip_late": summarize(bench.flips(args.flips)),
        }
    finally:
        page.context.close()


def run_shape(shape, args, browser, tmp):
    if shape == "sqlite":
        site = build_site(tmp, f"sqlite:///{tmp / 'live-bench.db'}")
        server = LiveServer(site.env).start()
        try:
            return measure(shape, site, server.base, args, browser)
        finally:
            server.stop()
    site = build_site(tmp, args.database_url)
    port = free_port()
    log = open(tmp / "gunicorn.log", "ab")  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "2",
            "--worker-class",
            "gthread",
            "--threads",
            "16",
            "--bind",
            f"127.0.0.1:{port}",
            "tests.browser.server:build_app()",
        ],
        cwd=ROOT,
        env=site.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        LiveServer.wait_healthy(f"http://127.0.0.1:{port}", process)
        return measure(shape, site, f"http://127.0.0.1:{port}", args, browser)
    finally:
        process.terminate()
        process.wait(15)
        log.close()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.live_latency", description=__doc__)
    parser.add_argument(
        "--shape", choices=["sqlite", "postgres", "both", "production"], default="sqlite"
    )
    parser.add_argument("--database-url", help="an empty PostgreSQL database (postgres shape)")
    parser.add_argument("--changes", type=int, default=120, help="measured changes (≥100)")
    parser.add_argument("--flips", type=int, default=3, help="quick_check runs (2 flips each)")
    production = parser.add_argument_group("production shape (simulated pages)")
    production.add_argument("--runs", type=int, default=1_000_000, help="data set size")
    production.add_argument("--clients", type=int, default=1000, help="open pages")
    production.add_argument("--rate", type=float, default=10.0, help="run changes per second")
    production.add_argument("--seconds", type=float, default=60.0, help="length of each phase")
    production.add_argument("--settle", type=float, default=10.0, help="idle with pages open")
    production.add_argument(
        "--fill-timeout", type=float, default=240.0, help="wait for the stalled socket to fill"
    )
    production.add_argument("--compression", choices=["deflate", "none"], default="deflate")
    production.add_argument("--profile", action="store_true", help="py-spy the live process")
    production.add_argument(
        "--long-timeline",
        type=int,
        metavar="EVENTS",
        help="one long-lived run takes a fifth of the changes and 20 detail pages, after "
        "EVENTS more timeline events (0: the same without them, the baseline); its pushes "
        "and the other runs' are reported apart",
    )
    production.add_argument("--out", help="report path (default bench/results/live-production…)")
    args = parser.parse_args(argv)
    if args.shape == "production":
        if not args.database_url:
            parser.error("--database-url is required for the production shape")
        from bench.live_report import run_production

        return run_production(args)
    shapes = ["sqlite", "postgres"] if args.shape == "both" else [args.shape]
    if "postgres" in shapes and not args.database_url:
        parser.error("--database-url is required for the postgres shape")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for shape in shapes:
            with tempfile.TemporaryDirectory() as tmp:
                results = run_shape(shape, args, browser, Path(tmp))
            report = {"shape": shape, "machine": machine(), "results": results}
            out = ROOT / "bench" / "results" / f"live-{shape}.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(report, indent=2))
            print(f"{shape}: {json.dumps(results)}  ({out})")
        browser.close()


if __name__ == "__main__":
    main()
