"""Small builders for test data. Each commits and returns the object."""

import random
from datetime import timedelta
from itertools import count

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from app.extensions import db
from app.models import Membership, OperationRun, RunEvent, Tenant, TenantGrant, User, Workspace
from app.operations.clock import now as clock_now
from tests.conftest import T0

_seq = count(1)
T_HASH = generate_password_hash("password", method="pbkdf2:sha256:1000")


def make_workspace(slug=None, name=None, created_at=None):
    n = next(_seq)
    ws = Workspace(
        slug=slug or f"ws-{n}", name=name or f"Workspace {n}", created_at=created_at or clock_now()
    )
    db.session.add(ws)
    db.session.commit()
    return ws


def make_tenant(workspace, slug=None, name=None):
    n = next(_seq)
    tenant = Tenant(
        workspace_id=workspace.id,
        slug=slug or f"tenant-{n}",
        name=name or f"Tenant {n}",
        created_at=clock_now(),
    )
    db.session.add(tenant)
    db.session.commit()
    return tenant


def make_user(email=None, name=None, password_hash=T_HASH):
    n = next(_seq)
    user = User(
        email=email or f"user{n}@example.test",
        name=name or f"User {n}",
        password_hash=password_hash,
        active=True,
        created_at=clock_now(),
    )
    db.session.add(user)
    db.session.commit()
    return user


def make_member(user, workspace, role="owner", tenants=()):
    membership = Membership(user_id=user.id, workspace_id=workspace.id, role=role)
    db.session.add(membership)
    db.session.flush()
    for tenant in tenants:
        db.session.add(TenantGrant(membership_id=membership.id, tenant_id=tenant.id))
    db.session.commit()
    return membership


def make_run(
    workspace,
    tenant=None,
    *,
    now,
    type="baseline_compare",
    status="running",
    age=60,
    heartbeat_ago=None,
    progress_ago=None,
    outcome=None,
    completed_ago=None,
    reconciled=False,
    processed=None,
    total=None,
    **fields,
):
    """A run ``age`` seconds old (since start if running, since creation if queued)."""
    created_at = now - timedelta(seconds=age + (0 if status == "queued" else 5))
    run = OperationRun(
        workspace_id=workspace.id,
        tenant_id=tenant.id if tenant else None,
        type=type,
        status=status,
        outcome=outcome or ("pending" if status != "completed" else "succeeded"),
        created_at=created_at,
        started_at=None if status == "queued" else now - timedelta(seconds=age),
        processed=processed,
        total=total,
        event_count=1,
        **fields,
    )
    if heartbeat_ago is not None:
        run.last_heartbeat_at = now - timedelta(seconds=heartbeat_ago)
    if progress_ago is not None:
        run.last_progress_at = now - timedelta(seconds=progress_ago)
    if status == "completed":
        run.completed_at = now - timedelta(
            seconds=completed_ago if completed_ago is not None else 1
        )
        if reconciled:
            run.reconciled_at = run.completed_at
            run.outcome = "failed"
            run.reconciliation_reason = "stale_no_heartbeat"
            run.reconciliation_message = "Closed by the reconciler."
    db.session.add(run)
    db.session.flush()
    db.session.add(RunEvent(run_id=run.id, kind="created", at=created_at, actor="test"))
    db.session.commit()
    return run


def add_events(db, run, count, start=T0):
    """``count`` progress events, one a second from ``start``, in one INSERT."""
    rows = [
        dict(run_id=run.id, kind="progress", at=start + timedelta(seconds=i), actor="t", data=None)
        for i in range(count)
    ]
    db.session.execute(sa.insert(RunEvent), rows)
    db.session.execute(
        sa.update(OperationRun)
        .where(OperationRun.id == run.id)
        .values(event_count=OperationRun.event_count + count)
    )
    db.session.commit()


def seconds(value):
    """A timedelta of ``value`` seconds, to the microsecond."""
    return timedelta(microseconds=round(value * 1_000_000))


def add_runs(
    workspace, durations, *, type="baseline_compare", tenant=None, completed=None, wait=5, **extra
):
    """Successful runs each ``duration`` seconds long after a queue wait of ``wait``
    seconds, completed at ``completed(i)`` (default: the hour before T0), with a longest
    heartbeat gap of 10 s; ``extra`` columns are values or functions of ``i``. Inserted in
    a shuffled order."""
    rows = []
    for i, duration in enumerate(durations):
        done = completed(i) if completed else T0 - timedelta(hours=1) - i * timedelta(seconds=7)
        started = done - seconds(duration)
        waited = wait(i) if callable(wait) else wait
        row = dict(
            workspace_id=workspace.id,
            tenant_id=tenant.id if tenant else None,
            type=type,
            status="completed",
            outcome="succeeded",
            created_at=started - seconds(waited),
            started_at=started,
            completed_at=done,
            last_heartbeat_at=done - timedelta(seconds=1),
            heartbeat_gap_max=10.0,
            progress_gap_max=0.0,
            event_count=3,
        )
        row.update({key: value(i) if callable(value) else value for key, value in extra.items()})
        rows.append(row)
    random.Random(len(rows)).shuffle(rows)
    db.session.execute(sa.insert(OperationRun.__table__), rows)
    db.session.commit()
