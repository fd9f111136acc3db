"""The load of the production-shape live measure: worker API calls, page loads, quick runs.

- ``Writer``: run changes through the worker API at a Poisson rate (heartbeats with growing
  ``processed``, some creates and completes), from a small thread pool so that one slow
  answer does not delay the schedule; each call is recorded with its send and answer times.
- ``PageLoads``: GETs of the overview, a dashboard and a list page with a signed-in cookie.
- ``Flips``: quick runs (a type that turns past expected after 4 s and likely stale after 8 s
  with no write) created every few seconds and completed after their flips.

Every HTTP call opens its own loopback connection, as a worker without keep-alive does.
"""

import http.client
import json
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

QUICK_TYPE = "bench_quick"
QUICK_TYPES = f"""
[types.{QUICK_TYPE}]
label = "Bench quick check"
queued_expected = 4
queued_stale = 8
running_expected = 4
running_stale = 8
heartbeat_stale = 0
progress_stale = 0
reconcile_grace = 3600
"""
FLIPS = (("past_expected", 4.0), ("likely_stale", 8.0))


def call(port, method, path, body=None, headers=None, timeout=30):
    """(status, parsed JSON or body bytes, send time, answer time) of one HTTP call."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    sent = time.time()
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        answered = time.time()
    finally:
        conn.close()
    if response.headers.get("Content-Type", "").startswith("application/json"):
        payload = json.loads(payload)
    return response.status, payload, sent, answered


def epoch(iso):
    return datetime.fromisoformat(iso.removesuffix("Z")).replace(tzinfo=UTC).timestamp()


class Api:
    """The worker API of one workspace token."""

    def __init__(self, port, token):
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}"}

    def post(self, path, body):
        return call(self.port, "POST", f"/api/v1{path}", body, self.headers)

    def create(self, tenant_slug, total, type="baseline_compare"):
        body = {"type": type, "tenant": tenant_slug, "status": "running", "total": total}
        return self.post("/runs", body)


class Writer:
    """Run changes at ``rate`` per second; ``changes`` is the record of every call."""

    def __init__(self, api, runs, long_lived, tenants, seed=11, hot=None, hot_share=0.0):
        self.api = api
        self.hot, self.hot_share = hot, hot_share  # a run given ``hot_share`` of the calls
        self.runs = dict(runs)  # run id -> (tenant id, slug, processed, total)
        self.long_lived = set(long_lived)
        self.tenants = tenants  # [(tenant id or None, slug or None, weight)]
        self.rng = random.Random(seed)
        self.busy = set()
        self.lock = threading.Lock()
        self.changes = []

    def run_for(self, seconds, rate, threads=8):
        """Issue changes for ``seconds`` at a Poisson ``rate``; returns when all answered."""
        end = time.monotonic() + seconds
        with ThreadPoolExecutor(threads) as pool:
            at = time.monotonic()
            while True:
                at += self.rng.expovariate(rate)
                if at >= end:
                    break
                time.sleep(max(0.0, at - time.monotonic()))
                pool.submit(self._one, self._choose())

    def _choose(self):
        with self.lock:
            roll = self.rng.random()
            idle = [r for r in self.runs if r not in self.busy]
            churn = [r for r in idle if r not in self.long_lived]
            if roll < 0.11 or not idle:
                return ("create", self._tenant(), None)
            if roll < 0.22 and len(churn) > 20:
                run_id = self.rng.choice(churn)
                self.busy.add(run_id)
                return ("complete", None, run_id)
            hot = roll < 0.22 + self.hot_share and self.hot in idle
            run_id = self.hot if hot else self.rng.choice(idle)
            tenant_id, slug, processed, total = self.runs[run_id]
            processed = min(total, processed + self.rng.randint(1, 25))
            self.runs[run_id] = (tenant_id, slug, processed, total)
            self.busy.add(run_id)
            return ("heartbeat", processed, run_id)

    def _tenant(self):
        ids, weights = zip(*[((t, s), w) for t, s, w in self.tenants], strict=True)
        return self.rng.choices(ids, weights)[0]

    def _one(self, op):
        kind, arg, run_id = op
        try:
            if kind == "create":
                tenant_id, slug = arg
                status, body, sent, answered = self.api.create(slug, 1000)
                run_id = body.get("id") if isinstance(body, dict) else None
                if status == 201:
                    with self.lock:
                        self.runs[run_id] = (tenant_id, slug, 0, 1000)
            elif kind == "complete":
                status, body, sent, answered = self.api.post(
                    f"/runs/{run_id}/complete", {"outcome": "succeeded"}
                )
                with self.lock:
                    tenant_id = self.runs.pop(run_id)[0]
            else:
                status, body, sent, answered = self.api.post(
                    f"/runs/{run_id}/heartbeat", {"processed": arg}
                )
                tenant_id = self.runs[run_id][0]
        except Exception as exc:  # recorded, never raised: the schedule goes on
            self.changes.append({"op": kind, "error": repr(exc)[:200], "sent": time.time()})
            return
        finally:
            with self.lock:
                self.busy.discard(run_id)
        self.changes.append(
            {
                "op": kind,
                "run_id": run_id,
                "tenant_id": tenant_id,
                "status": status,
                "sent": sent,
                "answered": answered,
            }
        )


class PageLoads(threading.Thread):
    """GETs ``paths`` in turn every ``every`` seconds until stopped; ``samples`` in ms."""

    def __init__(self, port, cookie, paths, every=0.25):
        super().__init__(daemon=True, name="bench-page-loads")
        self.port, self.cookie, self.paths, self.every = port, cookie, paths, every
        self.samples = {name: [] for name, _ in paths}
        self.errors = []
        self._halt = threading.Event()

    def run(self):
        i = 0
        while not self._halt.is_set():
            name, path = self.paths[i % len(self.paths)]
            i += 1
            try:
                status, _, sent, answered = call(
                    self.port, "GET", path, headers={"Cookie": self.cookie}
                )
                if status == 200:
                    self.samples[name].append((answered - sent) * 1000)
                else:
                    self.errors.append([name, status])
            except OSError as exc:
                self.errors.append([name, repr(exc)[:120]])
            self._halt.wait(self.every)

    def stop(self):
        self._halt.set()
        self.join(30)

    def warm_up(self, rounds=6):
        """Untimed loads first: every web worker has built its statements and templates."""
        for _ in range(rounds):
            for _, path in self.paths:
                call(self.port, "GET", path, headers={"Cookie": self.cookie})


class Flips(threading.Thread):
    """Quick runs in one tenant, one every ``every`` seconds; completed after their flips."""

    def __init__(self, api, tenant_id, slug, writer, every=2.0):
        super().__init__(daemon=True, name="bench-flips")
        self.api, self.tenant_id, self.slug = api, tenant_id, slug
        self.writer, self.every = writer, every
        self.scheduled = []  # (run id, freshness, scheduled epoch)
        self.errors = []
        self._halt = threading.Event()

    def run(self):
        pending = []
        while not self._halt.wait(self.every):
            try:
                self._create(pending)
                while pending and pending[0][1] <= time.time():
                    self._complete(pending.pop(0)[0])
            except OSError as exc:
                self.errors.append(repr(exc)[:120])
        now = time.time()
        cut = {run_id for run_id, _ in pending}
        self.scheduled = [s for s in self.scheduled if s[0] not in cut or s[2] <= now - 0.5]
        for run_id, _ in pending:
            self._complete(run_id)

    def _create(self, pending):
        status, body, sent, answered = self.api.create(self.slug, None, QUICK_TYPE)
        if status != 201:
            self.errors.append(f"create answered {status}")
            return
        started = epoch(body["started_at"])
        for freshness, after in FLIPS:
            self.scheduled.append((body["id"], freshness, started + after))
        pending.append((body["id"], started + FLIPS[-1][1] + 2.0))
        self._record("create", body["id"], status, sent, answered)

    def _complete(self, run_id):
        status, _, sent, answered = self.api.post(
            f"/runs/{run_id}/complete", {"outcome": "succeeded"}
        )
        self._record("complete", run_id, status, sent, answered)

    def _record(self, op, run_id, status, sent, answered):
        self.writer.changes.append(
            {
                "op": op,
                "run_id": run_id,
                "tenant_id": self.tenant_id,
                "status": status,
                "sent": sent,
                "answered": answered,
                "quick": True,
            }
        )

    def stop(self):
        self._halt.set()
        self.join(30)
