"""The production shape of the live measure: its data, its people and its three processes.

``prepare_site`` reuses (or generates with ``bench.generate``) the runs data set, adds the
bench's users (owners, operators and viewers with different tenant grants), their sessions
and a worker token; ``Processes`` starts the web gunicorn (``RUNWARDEN_LIVE=external``, two
gthread workers), the live gunicorn (``RUNWARDEN_SERVE=live``) and ``python -m reconciler``
from the repository's own ``gunicorn.conf.py``, each on a loopback port.
"""

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.models import Membership, Tenant, TenantGrant, User, UserSession
from app.operations import accounts
from app.operations.clock import SystemClock
from app.operations.sessions import start_session
from app.operations.tokens import create_token
from bench.__main__ import BenchConfig, prepare
from tests.browser.conftest import LiveServer, free_port

ROOT = Path(__file__).resolve().parents[1]
SECRET_KEY = secrets.token_hex(32)  # new for each run: no key in the repository signs a cookie
DASHBOARD_TENANTS = 10
# (email stem, role, indexes of the granted tenants: None for every tenant)
PEOPLE = (
    ("owner-a", "owner", None),
    ("owner-b", "owner", None),
    ("operator-a", "operator", (0, 1, 2, 3, 4, 10, 11, 12, 13, 14)),
    ("operator-b", "operator", (5, 6, 7, 8, 9, 15, 16, 17, 18, 19)),
    ("operator-c", "operator", (0, 2, 4, 6, 8)),
    ("operator-d", "operator", (1, 3, 5, 7, 9)),
    ("viewer-a", "viewer", (0, 1)),
    ("viewer-b", "viewer", (2, 3)),
    ("viewer-c", "viewer", (4, 5, 6)),
    ("viewer-d", "viewer", (7, 8, 9)),
)


def make_app(url, types_path):
    config = BenchConfig(url)
    config.SECRET_KEY = SECRET_KEY
    config.RUNWARDEN_OPERATION_TYPES = str(types_path)
    return create_app(config, clock=SystemClock())


def prepare_site(url, runs, types_path, sessions_per_person):
    """The data set, the people and their sessions; a SimpleNamespace the measure uses."""
    # Generation runs without the quick type, so the data set holds the usual types only.
    app = create_app(BenchConfig(url), clock=SystemClock())
    with app.app_context():
        if db.engine.dialect.name == "postgresql":  # the search index's trigram operators
            with db.engine.begin() as conn:
                conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        if sa.inspect(db.engine).has_table("workspaces"):
            db.create_all()  # tables the models gained since the data set was generated
        ws = prepare(runs)
        ws_id = ws.id
        db.session.remove()
    app = make_app(url, types_path)
    with app.app_context():
        tenants = db.session.scalars(
            sa.select(Tenant).where(Tenant.workspace_id == ws_id).order_by(Tenant.slug)
        ).all()
        people = [_person(stem, role, grants, tenants, ws_id) for stem, role, grants in PEOPLE]
        serializer = app.session_interface.get_signing_serializer(app)
        now = SystemClock().now()
        for person in people:
            user = db.session.get(User, person.user_id)
            person.cookies = [
                _cookie(app, serializer, user, start_session(user, now), ws_id)
                for _ in range(sessions_per_person)
            ]
        token = create_token(ws, "live bench", now=now).secret
        site = SimpleNamespace(
            workspace_id=ws_id,
            tenants=[SimpleNamespace(id=t.id, uuid=t.uuid, slug=t.slug) for t in tenants],
            people=people,
            token=token,
            high_water=db.session.scalar(sa.text("SELECT max(id) FROM operation_runs")),
        )
        db.session.remove()
    return site


def _person(stem, role, grants, tenants, ws_id):
    email = f"{stem}@live.bench.test"
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        slugs = [tenants[i].slug for i in grants] if grants is not None else []
        accounts.create_user(email, "bench-live-password", stem)
        accounts.add_member(email, "bench", role, slugs)
        db.session.commit()
        user = db.session.scalar(sa.select(User).where(User.email == email))
    db.session.execute(sa.delete(UserSession).where(UserSession.user_id == user.id))
    db.session.commit()
    granted = db.session.scalars(
        sa.select(TenantGrant.tenant_id)
        .join(Membership, Membership.id == TenantGrant.membership_id)
        .where(Membership.user_id == user.id, Membership.workspace_id == ws_id)
    ).all()
    sees = None if role == "owner" else frozenset(granted)
    return SimpleNamespace(user_id=user.id, email=email, role=role, sees=sees)


def _cookie(app, serializer, user, sid, ws_id):
    value = serializer.dumps(
        {"_user_id": str(user.id), "_fresh": True, "sid": sid, "workspace_id": ws_id}
    )
    return f"{app.config.get('SESSION_COOKIE_NAME', 'session')}={value}"


def cleanup(url, types_path, high_water):
    """Put the data set back to its generated size (runs, events and feed rows past
    ``high_water``; tokens and reconciler passes), so the next run reuses it."""
    from bench.measures import _remove_runs_after

    app = make_app(url, types_path)
    with app.app_context():
        _remove_runs_after(high_water)
        db.session.remove()


class Processes:
    """The three production processes on loopback ports; ``stop()`` ends them."""

    def __init__(self, url, types_path, log_dir, web_threads=64, live_threads=1200):
        self.web_port, self.live_port = free_port(), free_port()
        env = dict(os.environ)
        env.update(
            RUNWARDEN_ENV="production",
            DATABASE_URL=url,
            SECRET_KEY=SECRET_KEY,
            RUNWARDEN_OPERATION_TYPES=str(types_path),
            RUNWARDEN_RECONCILER="external",
            RUNWARDEN_LIVE="external",
            RUNWARDEN_BIND=f"127.0.0.1:{self.web_port}",
            RUNWARDEN_WORKERS="2",
            RUNWARDEN_THREADS=str(web_threads),
            RUNWARDEN_LIVE_BIND=f"127.0.0.1:{self.live_port}",
            RUNWARDEN_LIVE_THREADS=str(live_threads),
            RATELIMIT_STORAGE_URI="memory://",
            # One token seeds the site's runs in a burst (80 creates), then writes at the
            # measured rate: above the per-token limit a real worker keeps to.
            API_REPORT_LIMIT="1000/second",
            PYTHONPATH=str(ROOT),
        )
        env.pop("RUNWARDEN_LIVE_MAX_CLIENTS", None)
        self.env = env
        self.log_dir = Path(log_dir)
        self.procs = {}

    def start(self):
        gunicorn = [sys.executable, "-m", "gunicorn"]
        self._spawn("web", gunicorn, {})
        timing = {"RUNWARDEN_LIVE_TIMING_LOG": str(self.log_dir / "live-timing.log")}
        self._spawn("live", gunicorn, {"RUNWARDEN_SERVE": "live", **timing})
        self._spawn("reconciler", [sys.executable, "-m", "reconciler"], {})
        for name, port in (("web", self.web_port), ("live", self.live_port)):
            LiveServer.wait_healthy(f"http://127.0.0.1:{port}", self.procs[name], timeout=60)
        return self

    def _spawn(self, name, argv, extra):
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115
        self.procs[name] = subprocess.Popen(
            argv, cwd=ROOT, env={**self.env, **extra}, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()

    def worker_pid(self, name="live"):
        """The pid of the (single) gunicorn worker under ``name``'s master."""
        master = self.procs[name].pid
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with open(f"/proc/{master}/task/{master}/children") as handle:
                children = handle.read().split()
            if children:
                return int(children[0])
            time.sleep(0.1)
        raise RuntimeError(f"no worker under the {name} gunicorn")

    def stop(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
