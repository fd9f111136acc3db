"""A small world for the operator pages: two workspaces, tenants, users and runs in every state."""

from types import SimpleNamespace

import pytest

from tests.conftest import T0
from tests.factories import make_member, make_run, make_tenant, make_user, make_workspace

MIN = 60


@pytest.fixture
def world(db):
    """Workspace ``ws`` (tenants a, b) and ``other`` (tenant c); runs of every freshness state.

    Tenant a holds one run per state (baseline_compare: expected 10 min, stale 30 min,
    heartbeat silence 5 min, grace 30 min). Tenant b is mixed: one stale, one healthy.
    """
    ws, other = make_workspace(name="Acme"), make_workspace(name="Globex")
    a = make_tenant(ws, slug="alpha", name="Alpha")
    b = make_tenant(ws, slug="bravo", name="Bravo")
    c = make_tenant(other, slug="charlie", name="Charlie")
    owner, viewer, outsider = make_user(), make_user(), make_user()
    make_member(owner, ws, "owner")
    make_member(viewer, ws, "viewer", tenants=[a])
    make_member(outsider, other, "owner")
    runs = SimpleNamespace(
        fresh=make_run(ws, a, now=T0, age=2 * MIN, heartbeat_ago=20, processed=40, total=100),
        past=make_run(ws, a, now=T0, age=15 * MIN, heartbeat_ago=30),
        stale=make_run(ws, a, now=T0, age=25 * MIN, heartbeat_ago=20 * MIN, processed=5, total=50),
        reconciled=make_run(ws, a, now=T0, status="completed", reconciled=True, completed_ago=3600),
        succeeded=make_run(ws, a, now=T0, status="completed", completed_ago=600),
        failed=make_run(
            ws,
            a,
            now=T0,
            status="completed",
            outcome="failed",
            completed_ago=7200,
            failure_message="Graph API throttled the compare",
        ),
        b_stale=make_run(ws, b, now=T0, status="queued", age=20 * MIN),
        b_fresh=make_run(ws, b, now=T0, age=MIN, heartbeat_ago=10),
        ws_level=make_run(ws, None, now=T0, age=MIN, type="report_export"),
        other_stale=make_run(other, c, now=T0, age=25 * MIN, heartbeat_ago=20 * MIN),
    )
    return SimpleNamespace(
        ws=ws, other=other, a=a, b=b, c=c, owner=owner, viewer=viewer, outsider=outsider, runs=runs
    )
