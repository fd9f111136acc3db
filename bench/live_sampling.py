"""The live process seen from outside: CPU and memory at marked instants, a py-spy profile,
and each phase's report (``bench.live_figures`` on what the phase recorded)."""

import collections
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench import live_figures as figures


class Sampler:
    """Marks (instant, CPU seconds, RSS MiB, load average) of the live worker ``pid``."""

    def __init__(self, pid):
        self.pid = pid
        self.marks = {}
        self.profile_summary = None

    def mark(self, name):
        self.marks[name] = {
            "at": time.time(),
            "cpu_s": cpu_seconds(self.pid),
            "rss_mib": round(rss_mib(self.pid), 1),
            "load": load_average(),
        }

    def _between(self, first, last):
        a, b = self.marks[first], self.marks[last]
        return b["cpu_s"] - a["cpu_s"], b["at"] - a["at"]

    def summary(self, pages, changes):
        """CPU per change, CPU of open pages at rest, memory per open page."""
        idle_cpu, idle_s = self._between("opened", "idle_open")
        busy_cpu, busy_s = self._between("idle_open", "open")
        none_cpu, none_s = self._between("idle_empty", "none")
        idle_rate = idle_cpu / idle_s if idle_s else 0.0
        grown = self.marks["idle_open"]["rss_mib"] - self.marks["idle_empty"]["rss_mib"]
        return {
            "cpu_s_per_change": round(busy_cpu / max(changes, 1), 4),
            "cpu_s_per_change_net_of_idle": round(
                (busy_cpu - idle_rate * busy_s) / max(changes, 1), 4
            ),
            "cpu_share_during_changes": round(busy_cpu / busy_s, 3) if busy_s else None,
            "cpu_share_idle_with_pages": round(idle_rate, 3),
            "cpu_share_without_pages": round(none_cpu / none_s, 3) if none_s else None,
            "rss_mib_without_pages": self.marks["idle_empty"]["rss_mib"],
            "rss_mib_with_pages": self.marks["idle_open"]["rss_mib"],
            "kib_per_open_page": round(grown * 1024 / max(pages, 1), 1),
            "marks": self.marks,
            "profile": self.profile_summary,
        }

    def profile(self, enabled, seconds, tmp):
        """Start ``py-spy record`` on the live worker for ``seconds`` (None when disabled)."""
        if not enabled:
            return None
        out = Path(tmp) / "live-profile.txt"
        spy = Path(sys.executable).with_name("py-spy")
        proc = subprocess.Popen(
            [str(spy), "record", "-p", str(self.pid), "-d", str(int(seconds)), "-r", "20"]
            + ["-f", "raw", "-o", str(out), "--nonblocking"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return _Profile(proc, out, self)


class _Profile:
    def __init__(self, proc, out, sampler):
        self.proc, self.out, self.sampler = proc, out, sampler

    def wait(self, timeout):
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        if self.out.exists():
            self.sampler.profile_summary = summarize_profile(self.out.read_text())
            self.sampler.profile_summary["file"] = str(self.out)


# Where a sample of the live worker is, by the first needle found in its stack (root first).
THREADS = (
    ("worker", "LiveWorker._run"),
    ("sockets", "stream_view (app/live/socket.py"),
    ("relay", "Relay._run"),
)
WORKER_STEPS = (
    ("plan next time-only change", "plan (app/live/render.py"),
    ("render page", "render (app/live/render.py"),
    ("queue to mailboxes", "LiveRegistry.send"),
    ("re-check scopes and sessions", "refresh (app/live/dispatch.py"),
    ("catch-up check", "_changed_since"),
)
SOCKET_STEPS = (
    ("send (frame, deflate, write)", "Client.send"),
    ("heartbeat text", "_state (app/live/socket.py"),
    ("handshake (scope, watch)", "resolve_watch"),
)


def summarize_profile(raw):
    """Seconds of samples per thread kind and step, with render split into queries,
    templates and Python (page models, presenter); from py-spy's raw (collapsed) output."""
    seconds, total = collections.Counter(), 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        total += int(count)
        seconds[_where(stack)] += int(count)
    threads = collections.Counter()
    for key, value in seconds.items():
        threads[key.split(":", 1)[0]] += value
    by_thread = {}
    for key, value in seconds.most_common():
        thread, step = key.split(": ", 1)
        by_thread.setdefault(thread, {})[step] = round(value / threads[thread], 3)
    return {"samples": total, "samples_per_thread": dict(threads), "share_of_thread": by_thread}


def _where(stack):
    leaf = stack.rsplit(";", 1)[-1]
    thread = next((name for name, needle in THREADS if needle in stack), "other")
    if leaf.startswith(("Condition.wait", "Event.wait")) or "notifies" in stack:
        return f"{thread}: waiting"
    steps = WORKER_STEPS if thread == "worker" else SOCKET_STEPS
    step = next((name for name, needle in steps if needle in stack), "other")
    if step in ("render page", "plan next time-only change"):
        if "render_page (app/pages" in stack or "jinja2" in stack:
            step += ": templates"
        elif "sqlalchemy" in stack or "psycopg" in stack:
            step += ": queries"
        else:
            step += ": Python"
    return f"{thread}: {step}"


def phase_report(phase, specs, pages, sampler, commits):
    """The figures of one phase."""
    result = {
        "seconds": round(phase["end"] - phase["start"], 1),
        "load_before_after": phase["load"],
        "worker_api_heartbeat": figures.api_calls(phase["all_calls"]),
        "worker_api_all_calls": figures.api_calls(
            phase["all_calls"], ("heartbeat", "create", "complete")
        ),
        "page_loads": figures.page_loads(phase["loader"]),
        "changes": len(phase["changes"]),
    }
    if phase["name"] != "none":
        result["commit_to_client"] = figures.commit_to_client(
            phase["changes"], specs, pages, phase["end"], commits
        )
        result["flip_lateness"] = figures.flip_lateness(phase["scheduled"], specs, pages)
        if phase.get("hot") is not None:
            for name, picked in (("other_runs", False), ("hot_run", True)):
                changes = [c for c in phase["changes"] if (c["run_id"] == phase["hot"]) == picked]
                result[f"commit_to_client_{name}"] = figures.commit_to_client(
                    changes, specs, pages, phase["end"], commits
                )
    return result


class CommitListener(threading.Thread):
    """LISTENs on the app's channel: PostgreSQL delivers each NOTIFY at its commit, so the
    arrival here is the commit instant to within about a millisecond. The NOTIFY carries
    no payload: on each one the listener reads the change feed's new rows, as the relay
    does, and notes every run they name. ``seen`` is a list of (arrival, run id). Nothing
    on SQLite (no NOTIFY)."""

    # Feed ids are taken before commit: a row may become visible after a higher one.
    LOOK_BACK = 1000

    def __init__(self, database_url):
        super().__init__(daemon=True, name="bench-commit-listener")
        self.url = database_url
        self.seen = []
        self._halt = threading.Event()
        self.ready = threading.Event()

    def run(self):
        if not self.url.startswith("postgres"):
            self.ready.set()
            return
        import psycopg

        from app.operations.store import NOTIFY_CHANNEL

        url = self.url.replace("postgresql+psycopg://", "postgresql://")
        with (
            psycopg.connect(url, autocommit=True) as conn,
            psycopg.connect(url, autocommit=True) as reader,
        ):
            conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
            (tail,) = reader.execute("SELECT coalesce(max(id), 0) FROM run_changes").fetchone()
            self._start = tail  # rows already there when listening began are not noted
            noted = set()
            self.ready.set()
            while not self._halt.is_set():
                for _note in conn.notifies(timeout=0.5, stop_after=1):
                    tail = self._note_changes(reader, tail, noted, time.time())

    def _note_changes(self, reader, tail, noted, at):
        rows = reader.execute(
            "SELECT id, run_id FROM run_changes WHERE id > %s ORDER BY id",
            (max(self._start, tail - self.LOOK_BACK),),
        ).fetchall()
        for change_id, run_id in rows:
            if change_id not in noted:
                noted.add(change_id)
                self.seen.append((at, run_id))
        return max([tail, *(change_id for change_id, _run in rows)])

    def stop(self):
        self._halt.set()
        self.join(5)

    def commits(self):
        """{run id: sorted arrival times}."""
        by_run = {}
        for at, run_id in self.seen:
            by_run.setdefault(run_id, []).append(at)
        return by_run


def cpu_seconds(pid):
    """User + system CPU seconds of process ``pid`` (all its threads)."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def load_average():
    with open("/proc/loadavg") as handle:
        return handle.read().split()[:3]
