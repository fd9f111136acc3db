"""A workspace as an all-day operator sees it: 66 tenants, a 200-character tenant name,
a 3,900-character failure message and a 400-character unbroken token, every role.

Used by the browser tests of long text, severity order, axe-core, and by
``make screenshots``.
"""

from datetime import timedelta
from types import SimpleNamespace

from app.extensions import db
from app.models import Tenant
from app.operations import accounts
from app.operations.clock import SystemClock
from app.operations.lifecycle import complete_run, create_run
from tests.browser.conftest import PASSWORD, build_site

LONG_NAME = ("Northwind Traders Global Subsidiary " * 6).strip()[:200]
TOKEN = "x" * 200 + "TOKEN" + "y" * 195
LONG_MESSAGE = (
    "Baseline compare failed while reading the tenant's policy store: "
    + ("the upstream service answered 503 Service Unavailable after 30 s; " * 55)
    + TOKEN
)[:3900]
STALE_TENANTS = ("Tenant 60", "Tenant 61", "Tenant 62")
LATE_TENANTS = ("Tenant 50", "Tenant 51")
FOLLOW_UP_TENANTS = ("Tenant 40", "Tenant 41", "Tenant 42")
QUIET_TENANTS = tuple(f"Tenant {n:02d}" for n in range(1, 30))
USERS = (
    ("owner@example.test", "owner"),
    ("operator@example.test", "operator"),
    ("viewer@example.test", "viewer"),
)


def _run(site, tenant_id, now, *, started_ago, status="running", initiator="scheduler"):
    start = now - timedelta(seconds=started_ago)
    return create_run(
        workspace_id=site.workspace_id,
        tenant_id=tenant_id,
        type="baseline_compare",
        now=now,
        actor="fixture",
        status=status,
        initiator=initiator,
        context={"region": "eu-west", "ticket": f"OPS-{tenant_id}"},
        created_at=start - timedelta(seconds=5),
        started_at=start,
    )


def _failed(site, tenant_id, now, message, ago=3600):
    run = _run(site, tenant_id, now - timedelta(seconds=ago), started_ago=120)
    complete_run(
        run, outcome="failed", now=now - timedelta(seconds=ago), actor="fixture", message=message
    )
    return run


def _history(site, tenant_id, now, runs=35):
    """Successful inventory syncs days ago: the insights page draws its charts, table and
    suggestions from them."""
    for i in range(runs):
        done = now - timedelta(days=2 + i % 5, seconds=i)
        start = done - timedelta(seconds=60 + 13 * i)
        run = create_run(
            workspace_id=site.workspace_id,
            tenant_id=tenant_id,
            type="inventory_sync",
            now=start,
            actor="fixture",
            status="running",
            initiator="scheduler",
            created_at=start - timedelta(seconds=2 + i % 7),
            started_at=start,
        )
        complete_run(run, outcome="succeeded", now=done, actor="fixture")


def build_ux_site(tmp, database_url):
    """The base site plus 64 tenants, the long fixtures and an operator and a viewer."""
    site = build_site(tmp, database_url)
    with site.app.app_context():
        now = SystemClock().now()
        names = [f"Tenant {n:02d}" for n in range(1, 64)] + [LONG_NAME]
        tenants = {}
        for index, name in enumerate(names):
            tenants[name] = accounts.create_tenant("acme", f"t{index:02d}", name).id
        db.session.commit()
        for name in QUIET_TENANTS:
            run = _run(site, tenants[name], now - timedelta(days=3), started_ago=60)
            complete_run(run, outcome="succeeded", now=now - timedelta(days=3), actor="fixture")
        for name in STALE_TENANTS:
            _run(site, tenants[name], now, started_ago=40 * 60)
        for name in LATE_TENANTS:
            _run(site, tenants[name], now, started_ago=15 * 60)
        for name in FOLLOW_UP_TENANTS:
            _failed(site, tenants[name], now, "Partial export: 3 mailboxes skipped")
        long_id = tenants[LONG_NAME]
        stale = _run(site, long_id, now, started_ago=45 * 60, initiator=f"deploy-bot {TOKEN}")
        failed = _failed(site, long_id, now, LONG_MESSAGE, ago=600)
        _run(site, long_id, now, started_ago=60)
        _history(site, long_id, now)
        accounts.create_user("operator@example.test", PASSWORD, "Operator")
        accounts.add_member("operator@example.test", "acme", "operator", ("alpha", "t63"))
        accounts.create_user("viewer@example.test", PASSWORD, "Viewer")
        accounts.add_member("viewer@example.test", "acme", "viewer", ("t60",))
        db.session.commit()
        site.ux = SimpleNamespace(
            tenants=tenants,
            long_tenant=long_id,
            long_uuid=db.session.get(Tenant, long_id).uuid,
            stale_run=stale.id,
            failed_run=failed.id,
        )
        db.session.remove()
    return site
