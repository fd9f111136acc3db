"""`flask demo seed`: a realistic demo built through the lifecycle service.

Every run gets its timeline from create/start/heartbeat/complete (or the reconciler's
reconcile_run) at explicit instants relative to the app clock, so the demo shows every
freshness state and every stale reason the moment it is seeded.
"""

import random
from collections import Counter
from datetime import timedelta

import click
import sqlalchemy as sa

from app.cli import JsonGroup, emit, fail
from app.commands._demo_data import (
    ACTIVE,
    CONTEXT,
    DEMO_PASSWORD,
    FAILURES,
    FOLLOW_UPS,
    INITIATORS,
    PEOPLE,
    RECONCILED,
    STALE_WORDING,
    TOTALS,
    USERS,
    WORKERS,
    WORKSPACES,
    D,
    H,
    M,
)
from app.extensions import db
from app.models import Workspace
from app.operations import accounts, get_policy
from app.operations import freshness as fr
from app.operations.clock import now as clock_now
from app.operations.closing import reconcile_run
from app.operations.lifecycle import (
    LateReport,
    complete_run,
    create_run,
    heartbeat,
    start_run,
)
from app.operations.reads import SystemReads


class DemoBuilder:
    """Builds the demo runs at instants relative to ``now``."""

    def __init__(self, policy, now, seed=7):
        self.policy = policy
        self.now = now
        self.rng = random.Random(seed)
        self.workspaces = {}
        self.tenants = {}

    def ago(self, seconds):
        """The instant ``seconds`` before the seed's now."""
        return self.now - timedelta(seconds=seconds)

    def create(self, ws, tenant, op_type, created_at, total=None):
        """A queued run with a plausible initiator and context."""
        key, choices = CONTEXT[op_type]
        initiator = self.rng.choice([*INITIATORS, PEOPLE[ws]])
        trigger = initiator.split(":")[0] if ":" in initiator else "manual"
        return create_run(
            workspace_id=self.workspaces[ws].id,
            tenant_id=self.tenants[ws, tenant].id if tenant else None,
            type=op_type,
            now=created_at,
            actor=self.rng.choice(WORKERS),
            initiator=initiator,
            total=total,
            context={key: self.rng.choice(choices), "trigger": trigger},
            created_at=created_at,
        )

    def run(self, ws, tenant, op_type, created_at, queued_for, beats, total):
        """Create a run, start it after ``queued_for`` s, heartbeat at ``beats``; return it."""
        run = self.create(ws, tenant, op_type, created_at, total)
        if queued_for is None:
            return run
        started = created_at + timedelta(seconds=queued_for)
        run = start_run(run, now=started, actor="worker-eu-1")
        for after, processed in beats:
            at = started + timedelta(seconds=after)
            run = heartbeat(run, now=at, actor="worker-eu-1", processed=processed, at=at)
        return run

    def active(self, ws, tenant, op_type, created_ago, started_ago, beats, total):
        """A run still queued or running at seed time (times in seconds ago)."""
        queued_for = None if started_ago is None else created_ago - started_ago
        beats = [(started_ago - ago, processed) for ago, processed in beats]
        self.run(ws, tenant, op_type, self.ago(created_ago), queued_for, beats, total)

    def reconciled(self, tenant, op_type, created_ago, queued_for, beats, total, late=False):
        """A run that went silent and was closed by the reconciler once its grace ran out."""
        run = self.run("acme", tenant, op_type, self.ago(created_ago), queued_for, beats, total)
        grace = self.policy.for_type(op_type).reconcile_grace
        at = fr.upcoming_stale_at(run, self.policy) + timedelta(seconds=grace + 20)
        state = fr.freshness(run, self.policy, at)
        limit = state.tripped_rule.limit // M
        message = (
            f"Closed as failed by the reconciler: {STALE_WORDING[state.stale_reason]} "
            f"{limit} min. Likely stale since {state.stale_since:%Y-%m-%d %H:%M} UTC."
        )
        reason = f"stale_{state.stale_reason}"
        if not reconcile_run(
            run, policy=self.policy, now=at, reason=reason, message=message, pass_id=None
        ):
            raise RuntimeError(f"demo run {run.id} was not due for reconciliation")
        db.session.commit()
        if late:
            late_at = at + timedelta(minutes=6)
            try:
                heartbeat(run, now=late_at, actor="worker-eu-2", processed=1500, at=late_at)
            except LateReport:
                pass

    def finished(self, ws, tenant, op_type, created_ago, outcome, message=None):
        """A run that its worker completed with ``outcome``."""
        op = self.policy.for_type(op_type)
        low, high = TOTALS.get(op_type, (0, 0))
        total = self.rng.randint(low, high) if high else None
        queued_for = self.rng.randint(5, max(6, int(op.queued_expected * 0.8)))
        slow = self.rng.random() < 0.1
        share = self.rng.uniform(0.9, 1.0) if slow else self.rng.uniform(0.2, 0.9)
        limit = op.running_stale if slow else op.running_expected
        running = max(20, int(limit * share))
        created_ago = max(created_ago, queued_for + running + 60)
        beats = [(running * i // 3, total * i // 3 if total else None) for i in (1, 2)]
        run = self.run(ws, tenant, op_type, self.ago(created_ago), queued_for, beats, total)
        done = run.started_at + timedelta(seconds=running)
        processed = total if total and outcome == "succeeded" else None
        if total and outcome in ("failed", "partially_succeeded"):
            processed = int(total * self.rng.uniform(0.6, 0.98))
        complete_run(
            run,
            outcome=outcome,
            now=done,
            actor="worker-eu-1",
            message=message,
            processed=processed,
        )

    def history(self, ws, tenant_slugs, count, start_ago, end_ago):
        """Plan steps for ``count`` completed runs created between the two ages."""
        outcomes = ["succeeded"] * 42 + ["failed"] * 3 + ["partially_succeeded"] * 3 + ["cancelled"]
        for _ in range(count):
            tenant = self.rng.choice([*tenant_slugs, None])
            op_type = self.rng.choice(list(CONTEXT))
            outcome = self.rng.choice(outcomes)
            message = {
                "failed": self.rng.choice(FAILURES),
                "partially_succeeded": "Some items were skipped",
                "cancelled": f"Cancelled by {PEOPLE[ws]}",
            }.get(outcome)
            created_ago = self.rng.randint(end_ago, start_ago)
            yield created_ago, self.finished, ws, tenant, op_type, created_ago, outcome, message

    def plan(self):
        """(created ago, build, *args) for every run, oldest first."""
        steps = list(self.history("acme", [s for s, _ in WORKSPACES["acme"][1]], 116, 8 * D, H))
        steps += list(self.history("globex", ["globex-hq"], 10, 8 * D, H))
        for tenant, op_type, ago, outcome, message in FOLLOW_UPS:
            steps.append((ago, self.finished, "acme", tenant, op_type, ago, outcome, message))
        for index, spec in enumerate(RECONCILED):
            steps.append((spec[2], self.reconciled, *spec, index == len(RECONCILED) - 1))
        for spec in ACTIVE:
            steps.append((spec[3], self.active, *spec))
        steps.sort(key=lambda step: -step[0])
        return steps

    def build(self):
        """Create accounts and runs; return the number of runs."""
        for slug, (name, tenants) in WORKSPACES.items():
            self.workspaces[slug] = accounts.create_workspace(slug, name)
            for tenant_slug, tenant_name in tenants:
                tenant = accounts.create_tenant(slug, tenant_slug, tenant_name)
                self.tenants[slug, tenant_slug] = tenant
        for email, name, ws, role, tenants in USERS:
            accounts.create_user(email, DEMO_PASSWORD, name)
            accounts.add_member(email, ws, role, tenants)
        db.session.commit()
        steps = self.plan()
        for _, build, *args in steps:
            build(*args)
        return len(steps)


def freshness_summary(workspace_ids, policy, now):
    """Counts of freshness states and stale reasons over the runs of ``workspace_ids``."""
    states, reasons = Counter(), Counter()
    for run in SystemReads(policy, now).runs_in(workspace_ids):
        state = fr.freshness(run, policy, now)
        states[state.state] += 1
        if state.stale_reason:
            reasons[state.stale_reason] += 1
    return dict(sorted(states.items())), dict(sorted(reasons.items()))


def sign_in():
    """The demo accounts, for printing."""
    return {
        "password": DEMO_PASSWORD,
        "users": [
            {"email": e, "workspace": ws, "role": role, "tenants": list(t) or "all"}
            for e, _, ws, role, t in USERS
        ],
    }


demo = JsonGroup("demo", help="Demo data.")


@demo.command("seed")
@click.option("--if-empty", is_flag=True, help="Do nothing when any workspace exists.")
def seed(if_empty):
    """Create the demo workspaces, users and runs (once)."""
    existing = db.session.scalars(sa.select(Workspace.slug)).all()
    if any(slug in WORKSPACES for slug in existing):
        emit({"seeded": False, "message": "demo data already present", "sign_in": sign_in()})
        return
    if if_empty and existing:
        emit({"seeded": False, "message": "database has workspaces; demo data not added"})
        return
    policy = get_policy()
    missing = sorted({spec[2] for spec in ACTIVE} - set(policy.names()))
    if missing:
        fail(f"demo needs the shipped operation types; missing: {', '.join(missing)}")
    builder = DemoBuilder(policy, clock_now())
    count = builder.build()
    ids = [ws.id for ws in builder.workspaces.values()]
    states, reasons = freshness_summary(ids, policy, builder.now)
    emit(
        {
            "seeded": True,
            "workspaces": sorted(WORKSPACES),
            "runs": count,
            "freshness": states,
            "stale_reasons": reasons,
            "sign_in": sign_in(),
        }
    )


def register(app):
    """Attach the demo group to ``app``."""
    app.cli.add_command(demo)
