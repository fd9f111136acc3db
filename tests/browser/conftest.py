"""Browser tests: Debian's Chromium driven by Playwright against a real server process.

Without /usr/bin/chromium these tests skip, or fail when RUNWARDEN_REQUIRE_ALL_TESTS=1.
Each module gets its own temporary SQLite database, served by ``tests.browser.server``
in a subprocess on a free port; the test process writes to the same database.
"""

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

from app import create_app
from app.extensions import db
from app.operations import accounts
from app.operations.clock import SystemClock
from app.operations.tokens import create_token
from config import Config
from tests.conftest import REQUIRE_ALL

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "browser-test-password"
QUICK_TYPES = """
[types.quick_check]
label = "Quick check"
queued_expected = 4
queued_stale = 8
running_expected = 4
running_stale = 8
heartbeat_stale = 0
progress_stale = 0
reconcile_grace = 3600
"""


def require_chromium():
    """Skip without Chromium, or fail when every test is required."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = "playwright is not installed"
    else:
        missing = None if os.access(CHROMIUM, os.X_OK) else f"{CHROMIUM} is missing"
    if missing is None:
        return
    if REQUIRE_ALL:
        pytest.fail(f"browser tests are required: {missing}")
    pytest.skip(missing)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """``python -m tests.browser.server`` in a subprocess; restartable on the same port."""

    def __init__(self, env, port=None):
        self.env = env
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = None
        self.log = None

    def start(self, timeout=20):
        self.log = open(self.env["RUNWARDEN_TEST_LOG"], "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.browser.server", str(self.port)],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.wait_healthy(self.base, self.process, timeout)
        return self

    @staticmethod
    def wait_healthy(base, process, timeout=20):
        """Wait until ``base``/healthz answers 200 (RuntimeError if ``process`` exits)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError("the server process exited; see its log")
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{base} did not answer /healthz")

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
            self.process = None
        if self.log is not None:
            self.log.close()
            self.log = None


def server_env(tmp, database_url, **extra):
    """The environment of a server (or CLI) process on the test database."""
    types = tmp / "types.toml"
    types.write_text(QUICK_TYPES)
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        RUNWARDEN_OPERATION_TYPES=str(types),
        RUNWARDEN_RECONCILER="off",
        SECRET_KEY=secrets.token_hex(32),
        FLASK_APP="wsgi",
        PYTHONPATH=str(ROOT),
        RUNWARDEN_TEST_LOG=str(tmp / "server.log"),
    )
    env.update(extra)
    return env


def build_site(tmp, database_url):
    """Schema, a workspace with tenants alpha and bravo, users and an API token."""
    env = server_env(tmp, database_url)
    config = Config()
    config.SQLALCHEMY_DATABASE_URI = database_url
    config.RUNWARDEN_OPERATION_TYPES = env["RUNWARDEN_OPERATION_TYPES"]
    config.RUNWARDEN_RECONCILER = "off"
    config.SECRET_KEY = env["SECRET_KEY"]
    app = create_app(config, clock=SystemClock())
    with app.app_context():
        db.drop_all()
        db.create_all()
        workspace = accounts.create_workspace("acme", "Acme")
        alpha = accounts.create_tenant("acme", "alpha", "Alpha")
        bravo = accounts.create_tenant("acme", "bravo", "Bravo")
        for email, role, tenants in (
            ("owner@example.test", "owner", ()),
            ("bravo@example.test", "viewer", ("bravo",)),
        ):
            accounts.create_user(email, PASSWORD, email.split("@")[0].title())
            accounts.add_member(email, "acme", role, tenants)
        db.session.commit()
        token = create_token(workspace, "browser tests", now=SystemClock().now()).secret
        site = SimpleNamespace(
            app=app,
            env=env,
            workspace_id=workspace.id,
            alpha=SimpleNamespace(id=alpha.id, uuid=alpha.uuid),
            bravo=SimpleNamespace(id=bravo.id, uuid=bravo.uuid),
            token=token,
        )
        db.session.remove()
    return site


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    return build_site(tmp, f"sqlite:///{tmp / 'runwarden.db'}")


@pytest.fixture(scope="module")
def server(site):
    live = LiveServer(site.env).start()
    yield live
    live.stop()


class Page:
    """A signed-in page that records what arrives over its stream socket."""

    def __init__(self, browser, base, email):
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.frames = []
        self.requests = []
        self.page.on("websocket", self._socket)
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.goto(f"{base}/login")
        self.page.fill("input[name=email]", email)
        self.page.fill("input[name=password]", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(lambda url: "/login" not in url)
        self.base = base

    def _socket(self, ws):
        ws.on("framereceived", lambda payload: self.frames.append((time.time(), payload)))

    def open(self, path):
        self.page.goto(f"{self.base}{path}")
        self.wait_live()
        self.page.evaluate("window.__sameDocument = true")
        return self

    def wait_live(self, timeout=15_000):
        self.page.wait_for_selector("#live-status[data-state=live]", timeout=timeout)

    def freshness_of(self, run_id, within="#active-operations"):
        node = self.page.query_selector(f'{within} [data-run-id="{run_id}"]')
        return node.get_attribute("data-freshness") if node else None

    def kpi(self, key):
        return int(self.page.inner_text(f'[data-kpi="{key}"]'))

    def never_reloaded(self):
        return self.page.evaluate("window.__sameDocument === true")

    def pushes(self):
        return [payload for _, payload in self.frames if str(payload).startswith("<turbo-stream")]

    def close(self):
        self.context.close()
