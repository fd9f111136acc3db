"""Open-loop ingestion: heartbeats sent at a fixed arrival rate, whatever the answers do.

A closed loop (wrk: each connection waits for its answer before it sends again) measures
the most the server can take, and its latency is the queue that many connections make.
It cannot answer "does the server keep up with 1,000 calls/s at p95 <= 100 ms": by
Little's law 50 waiting connections at 200 calls/s already mean 250 ms per call. Here
call ``i`` is due at ``start + i / rate``; connection ``i % connections`` sends it at that
moment, or as soon as its previous call is answered when the server lags, and a call's
latency is counted from the moment it was due (as wrk2 does), so a server that falls
behind shows it in p95 instead of hiding it by sending less.

Used by ``bench/ingest_http.py`` (``BENCH_OPEN``); asyncio and plain HTTP/1.1 keep-alive
connections on loopback, no dependency. Every connection owns its own slice of the runs
and walks it in order, so a run's ``processed`` only grows and no two calls in flight
report the same run (as ``bench/ingest.lua`` does).
"""

import asyncio
import json
import time

MAX_LAG_S = 10.0  # a call not answered 10 s after it was due counts as a timeout


def _body(mode, ids, progress):
    if mode == "single":
        return json.dumps({"processed": progress}).encode()
    items = [{"run_id": run_id, "processed": progress} for run_id in ids]
    return json.dumps({"items": items}).encode()


def _request(mode, ids, progress, token):
    body = _body(mode, ids, progress)
    path = f"/api/v1/runs/{ids[0]}/heartbeat" if mode == "single" else "/api/v1/heartbeats"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _answer(reader):
    """The status of one HTTP/1.1 answer, its body read and dropped."""
    line = await reader.readline()
    if not line:
        raise ConnectionResetError("closed before answering")
    status = int(line.split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


class Slice:
    """The runs one connection reports, walked in order; ``processed`` grows by round."""

    def __init__(self, base, size, first_round):
        self.base, self.size, self.position, self.round = base, size, 0, first_round

    def take(self, count):
        ids = []
        for _ in range(count):
            ids.append(self.base + self.position)
            self.position += 1
            if self.position >= self.size:
                self.position, self.round = 0, self.round + 1
        return ids, self.round


async def _connection(index, plan, runs_slice, tally):
    """Send calls index, index + n, index + 2n, ... each at its due time; record latency.
    Calls still unsent MAX_LAG_S after the last one was due are counted, not sent."""
    port, mode, size, rate, count, tokens = plan
    connections, token = tally["connections"], tokens[index % len(tokens)]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    start = tally["start"]
    give_up = start + count / rate + MAX_LAG_S
    try:
        for i in range(index, count, connections):
            due = start + i / rate
            if time.perf_counter() > give_up:
                tally["unsent"] += len(range(i, count, connections))
                break
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            ids, progress = runs_slice.take(size)
            request = _request(mode, ids, progress, token)
            status, reader, writer = await _exchange(port, request, reader, writer)
            if status is None:
                tally["errors"] += 1
                continue
            tally["latencies"].append(time.perf_counter() - due)
            tally["statuses"][status] = tally["statuses"].get(status, 0) + 1
    finally:
        writer.close()


async def _exchange(port, request, reader, writer):
    """(status or None, reader, writer): one call; a keep-alive connection the server
    closed while idle (gunicorn's keepalive, 2 s) is opened again and the call sent once
    more, which is safe because the server never read it. Timeouts and other failures
    answer None on a fresh connection."""
    for attempt in (1, 2):
        writer.write(request)
        try:
            return await asyncio.wait_for(_answer(reader), MAX_LAG_S), reader, writer
        except ConnectionResetError:
            stale = attempt == 1
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, ValueError):
            stale = False
        writer.close()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        if not stale:
            break
    return None, reader, writer


def _percentile(values, share):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def _drive(plan, slices):
    tally = {"start": time.perf_counter() + 0.5, "latencies": [], "statuses": {}}
    tally.update(errors=0, unsent=0, connections=len(slices))
    tasks = [_connection(n, plan, slices[n], tally) for n in range(len(slices))]
    await asyncio.gather(*tasks)
    tally["end"] = time.perf_counter()
    return tally


def open_loop(port, plan, seconds, connections, first, runs, tokens):
    """Calls at ``rate`` per second for ``seconds`` (plan: mode, items per call, rate, the
    first ``processed``, above any the runs already had): achieved rate, latency from due
    time (p50 / p95 / p99, ms), statuses, errors, whether the server kept up, and the CPU
    this load generator used (it shares the machine with the server)."""
    mode, size, rate, first_round = plan
    count = int(rate * seconds)
    share = runs // connections
    slices = [Slice(first + n * share, share, first_round) for n in range(connections)]
    plan = (port, mode, size, rate, count, tokens)
    cpu = time.process_time()
    tally = asyncio.run(_drive(plan, slices))
    cpu = time.process_time() - cpu
    elapsed = tally["end"] - tally["start"]
    ok = tally["statuses"].get(200, 0)
    p95 = _percentile(tally["latencies"], 0.95)
    achieved = ok / elapsed
    return {
        "target_calls_per_s": rate,
        "achieved_calls_per_s": round(achieved, 1),
        "heartbeats_per_s": round(achieved * size, 1),
        "p50_ms": _ms(_percentile(tally["latencies"], 0.50)),
        "p95_ms": _ms(p95),
        "p99_ms": _ms(_percentile(tally["latencies"], 0.99)),
        "statuses": {str(k): v for k, v in sorted(tally["statuses"].items())},
        "errors": tally["errors"],
        "unsent": tally["unsent"],
        "kept_up": _kept_up(tally, achieved, rate, p95),
        "pacer_cpu_ms_per_call": round(cpu / max(1, count - tally["unsent"]) * 1000, 3),
    }


def _kept_up(tally, achieved, rate, p95):
    """At least 95 % of the rate answered 200, p95 <= 100 ms, no error, nothing unsent."""
    clean = tally["errors"] == 0 and tally["unsent"] == 0
    all_ok = tally["statuses"].get(200, 0) == len(tally["latencies"])
    return clean and all_ok and achieved >= 0.95 * rate and p95 is not None and p95 <= 0.1


def _ms(seconds):
    return None if seconds is None else round(seconds * 1000, 1)
