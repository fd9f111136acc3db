"""Figures of the production-shape live measure, from the calls made and the pushes seen.

A page shows a change when the server's own rule says so (``app.live.groups.concerns``,
restated here from the pages and grants the bench chose): the overview and unfiltered lists
show every run their viewer may see, a dashboard or tenant-filtered list its tenant's runs,
a detail page its run. For each change and each page showing it, the latency is the arrival
of the first Turbo Stream whose ``data-as-of`` is at or after the change's commit, minus
the commit. The commit instant is taken as the API's answer time (the commit happened
before it) or, on PostgreSQL, the arrival of the change's NOTIFY at the bench's own LISTEN
connection (PostgreSQL delivers it at commit: within about a millisecond). Both are at or
after the commit, so a push with ``data-as-of`` at or after them holds the change; with the
answer time a push whose read fell between the commit and the answer is passed over (the
next one is taken), so the answer-time figure over-states the latency, most on pages that
are pushed rarely. When no later push comes (no other change concerns the page), the
page's ``current <ms>`` heartbeat, the server's word that it holds every change up to an
instant, settles it: the change came with the last push before that heartbeat, provided
that push's data was read after the change was sent (else the claim is false: a miss).
``from_send`` takes the first push after the send time as the start.
"""

import bisect
import statistics

GRACE = 5.0


def summary(samples, target=None):
    """p50/p95/max/n of ``samples`` (seconds in, ms out), with the count over ``target``."""
    if not samples:
        return {"n": 0}
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    result = {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(p95 * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "n": len(ordered),
    }
    if target is not None:
        result["over_target"] = sum(1 for s in ordered if s > target)
    return result


def shows(page, change):
    """Whether the ``page`` (a client spec) shows ``change`` (a recorded API call)."""
    tenant = change["tenant_id"]
    sees = page["sees"]
    if sees is not None and tenant is not None and tenant not in sees:
        return False
    if page["kind"] in ("overview", "list"):
        return page.get("tenant_id") is None or page["tenant_id"] == tenant
    if page["kind"] == "dashboard":
        return tenant is not None and page["tenant_id"] == tenant
    return page["kind"] == "detail" and page["run_id"] == change["run_id"]


def commit_instant(change, commits):
    """The first NOTIFY of the change's run between its send and answer, else the answer."""
    times = commits.get(change["run_id"], ())
    i = bisect.bisect_left(times, change["sent"])
    if i < len(times) and times[i] <= change["answered"] + 0.5:
        return times[i], "notify"
    return change["answered"], "answer"


def _first_push(pushes, arrivals, since):
    first = bisect.bisect_left(arrivals, since)
    return next((p[0] for p in pushes[first:] if p[1] is not None and p[1] >= since), None)


def _first_sight(report, arrivals, since, sent):
    """When the page was first known to hold a change committed by ``since`` (sent at
    ``sent``): a push with ``data-as-of`` at or after ``since``, or, when a ``current``
    heartbeat says so first, the last push before that heartbeat. That push must have
    been read after the send (``data-as-of`` >= ``sent``): a heartbeat over a page whose
    last data predates the change is a false claim, and the pair stays unseen."""
    pushes = report["pushes"]
    pushed = _first_push(pushes, arrivals, since)
    said = next((c[0] for c in report.get("currents", ()) if c[1] >= since), None)
    if said is None or (pushed is not None and pushed <= said):
        return pushed
    last = bisect.bisect_right(arrivals, said) - 1
    if last < 0 or pushes[last][1] is None or pushes[last][1] < sent:
        return pushed
    return pushes[last][0]


def latencies(changes, specs, reports, end, commits):
    """({kind: {source: [s]}}, misses, sources) for every (change, page showing it) pair;
    ``sources["heartbeat"]`` counts the pairs a ``current`` heartbeat settled."""
    by_kind, misses, sources = {}, [], {"notify": 0, "answer": 0, "heartbeat": 0}
    arrivals = [[p[0] for p in report["pushes"]] for report in reports]
    for change in changes:
        committed, source = commit_instant(change, commits)
        sources[source] += 1
        starts = {"commit": committed, "answer": change["answered"], "from_send": change["sent"]}
        for index, spec in enumerate(specs):
            if not shows(spec, change):
                continue
            report, times = reports[index], arrivals[index]
            seen = {
                name: _first_sight(report, times, at, change["sent"]) for name, at in starts.items()
            }
            if seen["commit"] is None or seen["commit"] > end + GRACE:
                misses.append({"page": spec["page"], "op": change["op"], "at": committed})
                continue
            if seen["commit"] != _first_push(report["pushes"], times, committed):
                sources["heartbeat"] += 1
            bucket = by_kind.setdefault(spec["kind"], {name: [] for name in starts})
            for name, at in starts.items():
                if seen[name] is not None:
                    bucket[name].append(max(0.0, seen[name] - at))
    return by_kind, misses, sources


def commit_to_client(changes, specs, reports, end, commits, target=1.0):
    """The measure's figure: every pair, then per page kind."""
    by_kind, misses, sources = latencies(changes, specs, reports, end, commits)
    by_heartbeat = sources.pop("heartbeat")
    merged = {name: [s for b in by_kind.values() for s in b[name]] for name in STARTS}
    return {
        "all": summary(merged["commit"], target),
        "all_from_answer": summary(merged["answer"], target),
        "all_from_send": summary(merged["from_send"], target),
        "by_kind": {k: summary(b["commit"], target) for k, b in sorted(by_kind.items())},
        "changes": len(changes),
        "commit_instant_from": sources,
        "seen_by_heartbeat": by_heartbeat,
        "misses": len(misses),
        "miss_examples": misses[:10],
    }


STARTS = ("commit", "answer", "from_send")


def flip_lateness(scheduled, specs, reports, target=1.0):
    """Arrival of the first push showing a run's new freshness minus its scheduled instant,
    for every tracked page that shows the quick run's tenant."""
    samples, missing = [], 0
    for run_id, freshness, due in scheduled:
        key = f"{run_id}:{freshness}"
        for index, spec in enumerate(specs):
            if not spec.get("track_flips"):
                continue
            seen = reports[index]["flips"].get(key)
            if seen is None:
                missing += 1
            else:
                samples.append(seen - due)
    return {**summary(samples, target), "missing": missing, "flips": len(scheduled)}


def api_calls(changes, ops=("heartbeat",)):
    ok = [c for c in changes if c.get("op") in ops and "answered" in c]
    failed = [c for c in changes if "error" in c or c.get("status", 200) >= 400]
    return {
        **summary([c["answered"] - c["sent"] for c in ok]),
        "failed": len(failed),
        "failures": [c.get("error") or c.get("status") for c in failed[:5]],
    }


def page_loads(loader):
    result = {name: summary([s / 1000 for s in values]) for name, values in loader.samples.items()}
    merged = [s / 1000 for values in loader.samples.values() for s in values]
    result["all"] = summary(merged)
    result["errors"] = loader.errors[:5]
    return result


def push_stats(specs, reports, start, end):
    """Pushes per page per second and median push size (bytes, uncompressed) per kind."""
    kinds = {}
    for spec, report in zip(specs, reports, strict=True):
        inside = [p for p in report["pushes"] if start <= p[0] <= end]
        entry = kinds.setdefault(spec["kind"], {"pages": 0, "pushes": 0, "sizes": []})
        entry["pages"] += 1
        entry["pushes"] += len(inside)
        entry["sizes"].extend(p[2] for p in inside[:5])
    seconds = max(end - start, 1e-9)
    return {
        kind: {
            "pages": e["pages"],
            "pushes_per_page_s": round(e["pushes"] / e["pages"] / seconds, 2),
            "median_bytes": int(statistics.median(e["sizes"])) if e["sizes"] else 0,
        }
        for kind, e in sorted(kinds.items())
    }
