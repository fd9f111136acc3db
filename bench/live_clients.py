"""Simulated browser pages on the live socket: ``python -m bench.live_clients PLAN OUT``.

PLAN (JSON, written by ``bench.live_load``) names the stream URL, one entry per page
(cookie, watched path, whether to track freshness flips) and a deadline; this process
opens every page as a browser does (``websockets``, permessage-deflate offered, the
session cookie, ``page`` and ``since``), reconnects a closed one after a short backoff, and
records for each page every Turbo Stream's arrival time, its ``data-as-of`` and size, and
every ``current <ms>`` heartbeat as [arrival, arrival - ms] (the server's word that the
page holds every change committed before that instant, with no new push). It
touches ``ready_file`` once every page is open, and stops by itself at the deadline or when
``stop_file`` appears, then writes OUT.

Bounded: at most MAX_CLIENTS pages, MAX_SECONDS of running, loopback addresses only.
Optionally one stalled client (``bench.live_stall``) watches a big page and never reads.
"""

import asyncio
import json
import os
import re
import sys
import time
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit

from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

MAX_CLIENTS = 2000
MAX_SECONDS = 1800
BACKOFF = (0.25, 0.5, 1.0, 2.0)
AS_OF = re.compile(r'data-as-of="([^"]+)"')
RUN_STATE = re.compile(r'data-run-id="(\d+)" data-freshness="([a-z_]+)"')
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def epoch(iso):
    """Seconds since the epoch of the server's ISO instant (naive UTC, ``Z`` suffix)."""
    return datetime.fromisoformat(iso.removesuffix("Z")).replace(tzinfo=UTC).timestamp()


class Page:
    """One simulated browser page: its socket, what arrived and when."""

    def __init__(self, index, spec, plan):
        self.index = index
        self.spec = spec
        self.plan = plan
        self.pushes = []  # [arrival, as_of, bytes]
        self.currents = []  # [arrival, the instant the server says the page is current to]
        self.flips = {}  # "run:freshness" -> first arrival
        self.counts = {
            "current": 0,
            "stale": 0,
            "revoked": 0,
            "count": 0,
            "connects": 0,
            "errors": 0,
        }
        self.closes = []
        self.as_of = ""
        self.open = asyncio.Event()

    def url(self):
        query = {"page": self.spec["page"], "since": self.as_of}
        return f"{self.plan['url']}?{urlencode(query)}"

    async def run(self, deadline):
        attempt = 0
        while time.time() < deadline:
            try:
                async with connect(
                    self.url(),
                    origin=self.plan["origin"],
                    additional_headers={"Cookie": self.spec["cookie"]},
                    compression=self.plan.get("compression", "deflate"),
                    max_size=32 * 2**20,
                    ping_interval=None,
                    open_timeout=60,
                    close_timeout=2,
                ) as ws:
                    self.counts["connects"] += 1
                    attempt = 0
                    self.open.set()
                    await self._read(ws, deadline)
            except (OSError, WebSocketException, TimeoutError) as exc:
                self.counts["errors"] += 1
                self.closes.append([time.time(), type(exc).__name__, str(exc)[:120]])
            if self.counts["revoked"]:
                return
            await asyncio.sleep(BACKOFF[min(attempt, len(BACKOFF) - 1)])
            attempt += 1

    async def _read(self, ws, deadline):
        try:
            async with asyncio.timeout(max(0.0, deadline - time.time())):
                async for message in ws:
                    self._take(message)
        except TimeoutError:
            return

    def _take(self, message):
        arrived = time.time()
        if isinstance(message, str):
            if message.startswith("<turbo-stream"):
                self._push(message, arrived)
            elif message.startswith("current"):
                self.counts["current"] += 1
                self._current(message, arrived)
            elif message == "stale":
                self.counts["stale"] += 1
            elif message.startswith("count "):
                self.counts["count"] += 1
            elif message.startswith("revoked"):
                self.counts["revoked"] += 1
                self.closes.append([arrived, "revoked", message[8:]])

    def _current(self, message, arrived):
        try:
            age = int(message.split()[1]) / 1000
        except (IndexError, ValueError):
            return
        self.currents.append([arrived, arrived - age])

    def _push(self, message, arrived):
        found = AS_OF.search(message, 0, 600)
        as_of = found.group(1) if found else ""
        if as_of:
            self.as_of = as_of
        self.pushes.append([arrived, epoch(as_of) if as_of else None, len(message)])
        if self.spec.get("track_flips"):
            for run_id, freshness in RUN_STATE.findall(message):
                self.flips.setdefault(f"{run_id}:{freshness}", arrived)

    def report(self):
        return {
            "kind": self.spec["kind"],
            "page": self.spec["page"],
            "user": self.spec["user"],
            "pushes": self.pushes,
            "currents": self.currents,
            "flips": self.flips,
            "counts": self.counts,
            "closes": self.closes[:20],
        }


def _check(plan):
    if len(plan["clients"]) > MAX_CLIENTS:
        raise SystemExit(f"at most {MAX_CLIENTS} simulated pages")
    if urlsplit(plan["url"]).hostname not in LOOPBACK:
        raise SystemExit("simulated pages connect to loopback addresses only")
    return min(plan["deadline"], time.time() + MAX_SECONDS)


async def _open_all(pages, deadline, rate):
    tasks = []
    for page in pages:
        tasks.append(asyncio.create_task(page.run(deadline)))
        await asyncio.sleep(1 / rate)
    return tasks


async def _watch_stop(plan, deadline):
    stop_file = plan.get("stop_file")
    while time.time() < deadline:
        if stop_file and os.path.exists(stop_file):
            return
        await asyncio.sleep(0.2)


async def _sample_lag(samples, every=0.1):
    """The event loop's lag: how late a ``every``-second sleep wakes, with the process CPU."""
    while True:
        asked = time.perf_counter()
        await asyncio.sleep(every)
        samples.append([time.time(), time.perf_counter() - asked - every, time.process_time()])


async def main_async(plan):
    """Open every page, run until the deadline or the stop file; the report."""
    deadline = _check(plan)
    pages = [Page(i, spec, plan) for i, spec in enumerate(plan["clients"])]
    started = time.time()
    stall = None
    if plan.get("stalled"):
        from bench.live_stall import Stall

        stall = Stall(plan["stalled"], plan)
    lag = []
    lag_task = asyncio.create_task(_sample_lag(lag))
    tasks = await _open_all(pages, deadline, plan.get("connect_rate", 200))
    opened = [asyncio.create_task(p.open.wait()) for p in pages]
    await asyncio.wait(opened, timeout=max(1.0, deadline - time.time()))
    ready_at = time.time()
    if plan.get("ready_file"):
        with open(plan["ready_file"], "w") as handle:
            handle.write(f"{sum(p.open.is_set() for p in pages)}\n")
    stall_task = asyncio.create_task(stall.run(deadline)) if stall else None
    await _watch_stop(plan, deadline)
    stop_at = time.time()
    for task in [*tasks, *opened, lag_task] + ([stall_task] if stall_task else []):
        task.cancel()
    await asyncio.gather(*tasks, *opened, lag_task, return_exceptions=True)
    if stall_task:
        await asyncio.gather(stall_task, return_exceptions=True)
    return {
        "started": started,
        "ready_at": ready_at,
        "stopped_at": stop_at,
        "open_at_ready": sum(p.open.is_set() for p in pages),
        "pages": [p.report() for p in pages],
        "loop_lag": lag,  # [wall, seconds late, process CPU seconds] every 0.1 s
        "stalled": stall.report() if stall else None,
    }


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    plan_path, out_path = argv
    with open(plan_path) as handle:
        plan = json.load(handle)
    report = asyncio.run(main_async(plan))
    with open(out_path, "w") as handle:
        json.dump(report, handle)


if __name__ == "__main__":
    main()
