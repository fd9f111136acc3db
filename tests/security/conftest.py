"""Security suite fixtures: a world of principals, database fingerprints, case counters.

Requests go through ``send``: each runs in its own app context, as under a real server, so
nothing cached in ``g`` (the signed-in user, a CSRF token) leaks from one request to the next
while the ``app`` fixture keeps its own context open.
"""

import hashlib
from collections import Counter
from datetime import timedelta
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from app.models import OperationRun
from app.notifications.channels import create_channel, mute_tenant
from app.operations.tokens import create_token
from tests.conftest import T0, login
from tests.factories import make_member, make_run, make_tenant, make_user, make_workspace

MIN = 60

# Generated hostile cases by class and backend, and authorization matrix cells checked.
HOSTILE_CASES = Counter()
MATRIX_CELLS = Counter()


def count_case(kind, backend):
    """Record one hostile case of class ``kind`` tried on ``backend``."""
    HOSTILE_CASES[(kind, backend)] += 1


def pytest_terminal_summary(terminalreporter):
    if HOSTILE_CASES:
        terminalreporter.section("hostile input cases tried")
        kinds = sorted({kind for kind, _ in HOSTILE_CASES})
        for kind in kinds:
            per = {b: n for (k, b), n in HOSTILE_CASES.items() if k == kind}
            detail = ", ".join(f"{b} {n}" for b, n in sorted(per.items()))
            terminalreporter.write_line(f"{kind:<28} {sum(per.values()):>6}  ({detail})")
        terminalreporter.write_line(f"{'total':<28} {sum(HOSTILE_CASES.values()):>6}")
    if MATRIX_CELLS:
        terminalreporter.section("authorization matrix")
        for backend, cells in sorted(MATRIX_CELLS.items()):
            terminalreporter.write_line(f"{backend}: {cells} cells (route x principal) checked")


def send(app, client, method, path, **kwargs):
    """One request in a fresh app context; returns the response."""
    with app.app_context():
        return client.open(path, method=method, **kwargs)


# Signing in and out records sessions: bookkeeping of the sign-in itself, not data.
NOT_DATA = {"user_sessions"}


def db_state(db):
    """Row counts of every data table and a sha256 of every operation_runs row, ordered by
    id."""
    db.session.rollback()
    counts = {
        table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
        for table in db.metadata.sorted_tables
        if table.name not in NOT_DATA
    }
    rows = db.session.execute(sa.select(OperationRun.__table__).order_by(OperationRun.id)).all()
    digest = hashlib.sha256(repr([tuple(row) for row in rows]).encode()).hexdigest()
    db.session.rollback()
    return counts, digest


class _MarkupAudit(HTMLParser):
    """Collects what a strict Content-Security-Policy would block or that runs script."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems = []

    def handle_starttag(self, tag, attrs):
        names = {name for name, _ in attrs}
        if tag == "script" and not dict(attrs).get("src"):
            self.problems.append("inline <script>")
        if tag == "style":
            self.problems.append("inline <style>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...> handler")
            elif name == "style":
                self.problems.append(f"<{tag} style=...> attribute")
            elif name in ("href", "src", "action", "formaction") and value:
                if value.strip().lower().startswith(("javascript:", "data:text/html")):
                    self.problems.append(f"<{tag} {name}={value[:40]!r}>")
        if tag == "meta" and "http-equiv" in names:
            self.problems.append("<meta http-equiv> (policy belongs in headers)")


def markup_problems(html):
    """Inline scripts, event-handler attributes, inline styles and script URLs in ``html``."""
    audit = _MarkupAudit()
    audit.feed(html)
    audit.close()
    return audit.problems


def sign_in_as(client, user):
    """Sign ``user`` in on ``client`` without the form (a real server-side session)."""
    return login(client, user)


@pytest.fixture
def world(db, clock):
    """Workspace ``ws`` (tenants a, b) and ``other`` (tenant c); a user per role; tokens.

    Runs in ``ws``/a: queued, running (processed 10 of 100), completed; one workspace-level
    run; one running run in ``other``/c.
    """
    now = clock.now()
    ws, other = make_workspace(slug="acme", name="Acme"), make_workspace(slug="globex")
    a = make_tenant(ws, slug="alpha", name="Alpha Tenant Secret")
    b = make_tenant(ws, slug="bravo", name="Bravo")
    c = make_tenant(other, slug="charlie", name="Charlie Other Workspace")
    users = SimpleNamespace(
        owner=make_user(),
        operator=make_user(),
        viewer=make_user(),
        viewer_other_tenant=make_user(),
        other_workspace_owner=make_user(),
        no_membership=make_user(),
    )
    make_member(users.owner, ws, "owner")
    make_member(users.operator, ws, "operator", tenants=[a])
    make_member(users.viewer, ws, "viewer", tenants=[a])
    make_member(users.viewer_other_tenant, ws, "viewer", tenants=[b])
    make_member(users.other_workspace_owner, other, "owner")
    runs = SimpleNamespace(
        queued=make_run(ws, a, now=T0, type="inventory_sync", status="queued", age=30),
        running=make_run(
            ws, a, now=T0, type="inventory_sync", age=60, heartbeat_ago=10, processed=10, total=100
        ),
        completed=make_run(ws, a, now=T0, type="inventory_sync", status="completed"),
        workspace_level=make_run(ws, None, now=T0, age=60, type="report_export"),
        other=make_run(other, c, now=T0, age=60, type="inventory_sync"),
    )
    notify = SimpleNamespace(
        channel=create_channel(
            workspace_id=ws.id,
            name="ops",
            kind="webhook",
            target="http://127.0.0.1:9/hook",
            events=["failed"],
            tenant_ids=[a.id],
            now=now,
        ),
        mute=mute_tenant(
            workspace_id=ws.id, tenant_id=a.id, until=now + timedelta(hours=1), reason="", now=now
        ),
    )
    db.session.commit()
    tokens = SimpleNamespace(
        own=create_token(ws, "worker", now=now).secret,
        other=create_token(other, "other-worker", now=now).secret,
    )
    return SimpleNamespace(
        ws=ws, other=other, a=a, b=b, c=c, users=users, runs=runs, tokens=tokens, notify=notify
    )


@pytest.fixture
def hostile(app, db, world, backend):
    """A client for hostile API requests against ``world``."""
    from tests.security.hostile import Hostile

    return Hostile(app, db, world, backend)


@pytest.fixture
def states(world):
    """Runs in every state the detail page has a banner for."""
    ws, a = world.ws, world.a
    return [
        world.runs.queued,
        world.runs.running,
        world.runs.completed,
        world.runs.workspace_level,
        make_run(ws, a, now=T0, age=15 * MIN, heartbeat_ago=30),
        make_run(ws, a, now=T0, age=25 * MIN, heartbeat_ago=20 * MIN, processed=5, total=50),
        make_run(ws, a, now=T0, status="completed", reconciled=True, completed_ago=3600),
        make_run(ws, a, now=T0, status="completed", outcome="failed", failure_message="<b>x</b>"),
    ]


def html_pages(world, runs):
    """Every page of the app, signed in as the owner."""
    a = world.a
    return [
        "/admin",
        "/admin/workspaces",
        f"/admin/t/{a.uuid}",
        f"/admin/t/{a.uuid}/active-operations",
        "/admin/operations",
        f"/admin/operations?tenant_id={a.id}",
        *(f"/admin/operations?activeTab={tab}" for tab in ("active", "active_stale_attention")),
        *(f"/admin/operations/{run.id}" for run in runs),
        "/admin/reconciler",
        "/admin/insights",
        f"/admin/insights?tenant_id={a.id}&window=7d",
        "/admin/notifications",
        "/admin/notifications/new",
        f"/admin/notifications/{world.notify.channel.id}/edit",
        f"/admin/notifications/{world.notify.channel.id}/log",
    ]
