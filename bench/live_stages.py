"""Where a change's way from its commit to a simulated page goes, stage by stage.

The live process writes a timing line per feed read, render and sent page update when
``RUNWARDEN_LIVE_TIMING_LOG`` names a file (``app.live.timing``; the production measure sets
it). For every (change, page showing it) pair of a phase, with the page's first push whose
``data-as-of`` is at or after the commit (arrival ``a``, data ``s``):

- ``relay``: commit → the relay's first feed read after it has returned;
- ``to_sweep``: that read → the sweep (or due-lane pass) that rendered ``s`` took its work
  (waiting for the sweep in progress, and for a wide group's pacing interval);
- ``before_render``: the sweep's start → this group's render began (other groups first);
- ``render``: the render itself, and queueing it in the members' mailboxes;
- ``to_socket``: queued → the socket's send of it returned (median over the group);
- ``to_client``: that send → the page's process had read and decoded it.

Also the simulated pages' process itself: its event loop's lag and CPU over the phase.
"""

import bisect
import statistics
from pathlib import Path

from bench import live_figures as figures

STAGES = ("relay", "to_sweep", "before_render", "render", "to_socket", "to_client", "total")


def read_log(path):
    """(reads, renders, sents) of the timing log at ``path``."""
    reads, renders, sents = [], {}, {}
    if not Path(path).exists():
        return reads, renders, sents
    for raw in Path(path).read_text().splitlines():
        kind, *parts = raw.split()
        fields = dict(p.split("=", 1) for p in parts)
        if kind == "read":
            reads.append((float(fields["as_of"]), float(fields["at"])))
        elif kind == "render":
            key = (fields["page"], round(float(fields["as_of"]), 3))
            times = tuple(float(fields[k]) for k in ("taken", "start", "end"))
            renders.setdefault(key, []).append(times)
        elif kind == "sent":
            key = (fields["page"], round(float(fields["as_of"]), 3))
            sents.setdefault(key, []).append(float(fields["at"]))
    reads.sort()
    return reads, renders, sents


def _pair(committed, push, reads, renders, sents, page):
    arrival, as_of = push[0], push[1]
    key = (page, round(as_of, 3))
    if key not in renders or key not in sents:
        return None
    taken, start, end = min(renders[key], key=lambda r: r[2])
    i = bisect.bisect_left(reads, (committed, 0.0))
    read_at = reads[i][1] if i < len(reads) else taken
    sent = statistics.median(sents[key])
    points = (committed, read_at, taken, start, end, sent, arrival)
    values = [max(0.0, b - a) for a, b in zip(points, points[1:], strict=False)]
    return dict(zip(STAGES, [*values, arrival - committed], strict=False))


def stages(phase, specs, reports, commits, log_path):
    """{stage: summary} over the phase's pairs, and how many pairs could be joined."""
    reads, renders, sents = read_log(log_path)
    found = {name: [] for name in STAGES}
    by_kind = {}
    pairs = joined = 0
    for change in phase["changes"]:
        committed, _ = figures.commit_instant(change, commits)
        for spec, report in zip(specs, reports, strict=False):
            if not figures.shows(spec, change):
                continue
            pairs += 1
            push = next((p for p in report["pushes"] if p[1] and p[1] >= committed), None)
            split = push and _pair(committed, push, reads, renders, sents, spec["page"])
            if split:
                joined += 1
                kind = by_kind.setdefault(spec["kind"], {name: [] for name in STAGES})
                for name, value in split.items():
                    found[name].append(value)
                    kind[name].append(value)
    result = {name: figures.summary(values) for name, values in found.items()}
    kinds = {k: {n: figures.summary(v) for n, v in b.items()} for k, b in sorted(by_kind.items())}
    return {**result, "by_kind": kinds, "pairs": pairs, "joined": joined}


def client_process(lag, start, end):
    """The simulated pages' event-loop lag (ms) and CPU (cores) between ``start`` and ``end``."""
    inside = [s for s in lag if start <= s[0] <= end]
    if len(inside) < 2:
        return {}
    cores = (inside[-1][2] - inside[0][2]) / (inside[-1][0] - inside[0][0])
    return {"loop_lag": figures.summary([s[1] for s in inside]), "cpu_cores": round(cores, 2)}
