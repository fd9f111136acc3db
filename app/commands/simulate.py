"""`flask demo simulate`: workers reporting runs through the lifecycle service, live.

Runs are created, wait in the queue, start, heartbeat with progress and finish; a share of
them goes silent mid-run (no more heartbeats) so the pages show them turning late, then
likely stale, until the reconciler closes them. Runs until Ctrl-C or ``--duration``.
"""

import random
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

import click
import sqlalchemy as sa

from app.cli import JsonCommand, JsonGroup, emit, fail
from app.extensions import db
from app.models import Tenant, Workspace
from app.operations import get_policy
from app.operations.clock import now as clock_now
from app.operations.lifecycle import (
    LifecycleError,
    complete_run,
    create_run,
    heartbeat,
    start_run,
)
from app.operations.reads import SystemReads

ACTOR = "simulator"
OUTCOMES = ["succeeded"] * 16 + ["partially_succeeded"] * 2 + ["failed"] * 2


@dataclass
class SimRun:
    """What the simulator intends for one run."""

    run_id: int
    start_at: object
    finish_at: object
    total: int | None
    silent_after: float | None
    next_beat: object = None
    processed: int = 0


class Simulator:
    """One ``step(now)`` moves every simulated worker forward to ``now``."""

    def __init__(self, workspace_id, tenant_ids, policy, rng, concurrency=6, silent_ratio=0.15):
        self.workspace_id = workspace_id
        self.tenant_ids = list(tenant_ids)
        self.policy = policy
        self.rng = rng
        self.concurrency = concurrency
        self.silent_ratio = silent_ratio
        self.runs = {}
        self.counts = Counter()

    def step(self, now):
        """Create, start, heartbeat and complete runs due at ``now``."""
        if len(self.runs) < self.concurrency and self.rng.random() < 0.5:
            self._create(now)
        for sim in list(self.runs.values()):
            try:
                self._advance(sim, now)
            except LifecycleError:
                self.counts["late_reports"] += 1
                self.runs.pop(sim.run_id, None)

    def _create(self, now):
        op_type = self.policy.for_type(self.rng.choice(sorted(self.policy.names())))
        tenant_id = self.rng.choice([*self.tenant_ids, None]) if self.tenant_ids else None
        running = self.rng.uniform(0.05, 0.6) * op_type.running_expected
        queued = self.rng.uniform(1.0, max(1.0, min(20.0, 0.5 * op_type.queued_expected)))
        total = self.rng.choice([None, 50, 400, 2500])
        run = create_run(
            workspace_id=self.workspace_id,
            tenant_id=tenant_id,
            type=op_type.name,
            now=now,
            actor=ACTOR,
            initiator="simulator",
            total=total,
        )
        silent = self.rng.random() < self.silent_ratio
        self.runs[run.id] = SimRun(
            run.id,
            start_at=now + timedelta(seconds=queued),
            finish_at=now + timedelta(seconds=queued + running),
            total=total,
            silent_after=self.rng.uniform(0.2, 0.7) if silent else None,
        )
        self.counts["created"] += 1

    def _advance(self, sim, now):
        run = SystemReads(self.policy, now).runs([sim.run_id]).get(sim.run_id)
        if run is None or run.status == "completed":
            self.runs.pop(sim.run_id, None)
            return
        if run.status == "queued":
            if now >= sim.start_at:
                start_run(run, now=now, actor=ACTOR)
                sim.next_beat = now
                self.counts["started"] += 1
            return
        share = _share(sim, now)
        if sim.silent_after is not None and share >= sim.silent_after:
            self.runs.pop(sim.run_id)
            self.counts["went_silent"] += 1
            return
        if now >= sim.finish_at:
            outcome = self.rng.choice(OUTCOMES)
            processed = sim.total if sim.total and outcome == "succeeded" else None
            complete_run(run, outcome=outcome, now=now, actor=ACTOR, processed=processed)
            self.runs.pop(sim.run_id)
            self.counts[f"completed_{outcome}"] += 1
        elif now >= sim.next_beat:
            processed = int(sim.total * share) if sim.total else None
            heartbeat(run, now=now, actor=ACTOR, processed=processed)
            sim.next_beat = now + timedelta(seconds=self.rng.uniform(2, 6))
            self.counts["heartbeats"] += 1


def _share(sim, now):
    span = (sim.finish_at - sim.start_at).total_seconds() or 1
    return min(1.0, max(0.0, (now - sim.start_at).total_seconds() / span))


def _workspace(slug):
    query = sa.select(Workspace).order_by(Workspace.id)
    if slug:
        query = query.where(Workspace.slug == slug)
    return db.session.scalar(query)


@click.command("simulate", cls=JsonCommand)
@click.option("--workspace", "slug", default=None, help="Workspace slug (default: the first).")
@click.option("--duration", type=float, default=0, help="Seconds to run; 0 runs until Ctrl-C.")
@click.option("--tick", type=float, default=1.0, help="Seconds between steps.")
@click.option("--steps", type=int, default=0, help="Stop after this many steps (0: no limit).")
@click.option("--concurrency", type=int, default=6, help="Runs in flight at most.")
@click.option("--silent-ratio", type=float, default=0.15, help="Share of runs that go silent.")
@click.option("--seed", type=int, default=None, help="Random seed, for a repeatable show.")
def simulate(slug, duration, tick, steps, concurrency, silent_ratio, seed):
    """Simulate workers reporting runs until Ctrl-C (or --duration / --steps)."""
    workspace = _workspace(slug)
    if workspace is None:
        fail("no such workspace; run `flask demo seed` first", workspace=slug)
    workspace_id, workspace_slug = workspace.id, workspace.slug
    tenant_ids = db.session.scalars(
        sa.select(Tenant.id).where(Tenant.workspace_id == workspace_id).order_by(Tenant.id)
    ).all()
    rng = random.Random(seed)
    sim = Simulator(workspace_id, tenant_ids, get_policy(), rng, concurrency, silent_ratio)
    began, done = time.monotonic(), 0
    try:
        while not (duration and time.monotonic() - began >= duration) and not (
            steps and done >= steps
        ):
            sim.step(clock_now())
            db.session.remove()
            done += 1
            if tick:
                time.sleep(tick)
    except KeyboardInterrupt:
        pass
    emit(
        {
            "workspace": workspace_slug,
            "steps": done,
            "seconds": round(time.monotonic() - began, 1),
            "in_flight": len(sim.runs),
            **dict(sorted(sim.counts.items())),
        }
    )


def register(app):
    """Add ``simulate`` to the ``demo`` group (creating the group if needed)."""
    group = app.cli.commands.get("demo")
    if group is None:
        group = JsonGroup("demo", help="Demo data.")
        app.cli.add_command(group)
    group.add_command(simulate)
