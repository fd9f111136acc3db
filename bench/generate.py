"""Fast generation of a realistic runs table (batched INSERT on SQLite, COPY on PostgreSQL)."""

import random
from datetime import timedelta

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from app.extensions import db
from app.models import Membership, OperationRun, RunEvent, Tenant, TenantGrant, User, Workspace

COLUMNS = (
    "workspace_id",
    "tenant_id",
    "type",
    "status",
    "outcome",
    "created_at",
    "started_at",
    "completed_at",
    "last_heartbeat_at",
    "processed",
    "total",
    "last_progress_at",
    "initiator",
    "failure_message",
    "reconciled_at",
    "reconciliation_reason",
    "reconciliation_message",
)
TENANTS = 50
DAYS = 90
PASSWORD = "bench-password"


def seed_accounts(now):
    """One workspace with TENANTS tenants, an owner and a viewer of one tenant."""
    ws = Workspace(slug="bench", name="Bench workspace", created_at=now)
    db.session.add(ws)
    db.session.flush()
    tenants = [
        Tenant(workspace_id=ws.id, slug=f"t{i:02d}", name=f"Tenant {i:02d}", created_at=now)
        for i in range(TENANTS)
    ]
    db.session.add_all(tenants)
    hashed = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    owner = User(email="owner@bench.test", name="Owner", password_hash=hashed, created_at=now)
    viewer = User(email="viewer@bench.test", name="Viewer", password_hash=hashed, created_at=now)
    db.session.add_all([owner, viewer])
    db.session.flush()
    db.session.add(Membership(user_id=owner.id, workspace_id=ws.id, role="owner"))
    membership = Membership(user_id=viewer.id, workspace_id=ws.id, role="viewer")
    db.session.add(membership)
    db.session.flush()
    db.session.add(TenantGrant(membership_id=membership.id, tenant_id=tenants[0].id))
    db.session.commit()
    return ws, tenants, owner


def _row(rng, ws_id, tenant_ids, types, now, created):
    tenant = rng.choice(tenant_ids) if rng.random() > 0.05 else None
    op_type = rng.choice(types)
    started = created + timedelta(seconds=rng.randint(1, 90))
    total = rng.choice((None, 100, 500, 2000))
    base = dict(
        workspace_id=ws_id,
        tenant_id=tenant,
        type=op_type,
        created_at=created,
        initiator=rng.choice(("scheduler", "api", "alice@example.com")),
        failure_message=None,
        reconciled_at=None,
        reconciliation_reason=None,
        reconciliation_message=None,
        last_heartbeat_at=None,
        last_progress_at=None,
        processed=None,
        total=total,
        started_at=started,
        completed_at=None,
    )
    roll = rng.random()
    if roll < 0.99:  # 1% of runs end closed by the reconciler
        done = started + timedelta(seconds=rng.randint(20, 1800))
        outcome = (
            "succeeded"
            if roll < 0.92
            else rng.choice(("failed", "partially_succeeded", "cancelled"))
        )
        base.update(
            status="completed",
            outcome=outcome,
            completed_at=done,
            last_heartbeat_at=done,
            processed=total,
            last_progress_at=done,
        )
        if outcome == "failed":
            base["failure_message"] = "Worker reported an error."
    else:
        base.update(
            status="completed",
            outcome="failed",
            completed_at=started + timedelta(hours=1),
            reconciled_at=started + timedelta(hours=1),
            reconciliation_reason="stale_no_heartbeat",
            reconciliation_message="Closed by the reconciler: no heartbeat.",
        )
    return base


def generate_runs(ws, tenants, policy, now, runs, active=2000, seed=7):
    """Insert ``runs`` runs over DAYS days, ``active`` of them queued/running (some stale)."""
    rng = random.Random(seed)
    tenant_ids = [t.id for t in tenants]
    types = policy.names()
    span = DAYS * 86400
    historic = max(0, runs - active)
    chunk = []
    for i in range(historic):
        created = now - timedelta(seconds=span * (1 - i / max(historic, 1)) + 3600)
        chunk.append(_row(rng, ws.id, tenant_ids, types, now, created))
        if len(chunk) >= 20_000:
            _flush(chunk)
            chunk = []
    _flush(chunk)
    _flush([_active_row(rng, ws.id, tenant_ids, types, now, i) for i in range(min(active, runs))])
    db.session.commit()


def _active_row(rng, ws_id, tenant_ids, types, now, i):
    created = now - timedelta(seconds=rng.randint(5, 3 * 3600))
    started = created + timedelta(seconds=2)
    queued = i % 10 == 0
    beat = now - timedelta(seconds=rng.randint(1, 900))
    return dict(
        workspace_id=ws_id,
        tenant_id=rng.choice(tenant_ids),
        type=rng.choice(types),
        status="queued" if queued else "running",
        outcome="pending",
        created_at=created,
        started_at=None if queued else started,
        completed_at=None,
        last_heartbeat_at=None if queued else max(beat, started),
        processed=None if queued else rng.randint(0, 100),
        total=100,
        last_progress_at=None if queued else max(beat, started),
        initiator="scheduler",
        failure_message=None,
        reconciled_at=None,
        reconciliation_reason=None,
        reconciliation_message=None,
    )


def _flush(rows):
    if not rows:
        return
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        with raw.cursor() as cursor:
            with cursor.copy(f"COPY operation_runs ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([row[c] for c in COLUMNS])
    else:
        db.session.execute(sa.insert(OperationRun), rows)


def add_events(run_ids, now):
    """A short timeline (five events) for the runs whose detail page is measured.

    A reused data set keeps exactly five: the previous run's are replaced.
    """
    db.session.execute(sa.delete(RunEvent).where(RunEvent.run_id.in_(run_ids)))
    db.session.execute(
        sa.update(OperationRun).where(OperationRun.id.in_(run_ids)).values(event_count=5)
    )
    for run_id in run_ids:
        for n, kind in enumerate(("created", "started", "progress", "progress", "completed")):
            db.session.add(
                RunEvent(
                    run_id=run_id,
                    kind=kind,
                    at=now - timedelta(minutes=10 - n),
                    actor="bench",
                    data={"n": n},
                )
            )
    db.session.commit()
