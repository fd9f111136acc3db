"""Several processes on PostgreSQL: gunicorn workers, a live process, a reconciler, a writer.

A change made in any process reaches the stream sockets held by every process that holds
sockets; in the production shape (web workers with RUNWARDEN_LIVE=external, one live
process) the web workers refuse streams and the live process pushes the API's changes.
"""

import http.client
import json
import re
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest

from app.extensions import db
from app.operations.clock import SystemClock
from app.operations.lifecycle import create_run
from app.operations.tokens import create_token
from tests.browser.conftest import LiveServer, build_site, free_port
from tests.conftest import login, require_postgres
from tests.factories import make_member, make_user
from tests.live.conftest import connect_ws

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]
WORKERS = 2
STATE = re.compile(r"^(current \d+|stale)$")
UPGRADE = {
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
}


@pytest.fixture
def cluster(tmp_path):
    """A site on the test database served by WORKERS gunicorn worker processes.

    Each worker runs under its own gunicorn master on its own port: the kernel hands
    connections on one shared listener to whichever worker it likes (often the same one
    every time), so a test that needs a socket on every process must choose the process.
    """
    site = build_site(tmp_path, require_postgres())
    probe = tmp_path / "probe.log"
    env = dict(site.env, RUNWARDEN_PROBE_LOG=str(probe), LIVE_HEARTBEAT_SECONDS="1")
    log = open(tmp_path / "gunicorn.log", "ab")  # noqa: SIM115
    ports, processes = [], []
    try:
        for _ in range(WORKERS):
            port = free_port()
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-c",
                    "tests/live/gunicorn_probe.py",
                    "--workers",
                    "1",
                    "--worker-class",
                    "gthread",
                    "--threads",
                    "64",
                    "--graceful-timeout",
                    "2",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "tests.browser.server:build_app()",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            ports.append(port)
            processes.append(process)
            LiveServer.wait_healthy(f"http://127.0.0.1:{port}", process, timeout=30)
        yield site, ports, probe
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        log.close()
        with site.app.app_context():
            db.drop_all()
            db.engine.dispose()


def _sockets_on_every_worker(site, ports, probe):
    """One owner socket on the overview per worker process, with the worker's pid."""
    with site.app.app_context():
        user = make_user()
        make_member(user, _ws(site), "owner")
        cookie = login(site.app.test_client(), user).get_cookie("session").value
        db.session.remove()
    sockets, workers = [], {}
    for port in ports:
        before = _probe_lines(probe)
        socket = connect_ws(f"ws://127.0.0.1:{port}/live/stream?page=/admin", cookie)
        assert STATE.match(socket.receive(timeout=5))
        pid = _probe_lines(probe)[len(before) :][-1].split()[0]
        workers.setdefault(pid, []).append(socket)
        sockets.append(socket)
    return sockets, workers


def _ws(site):
    from app.models import Workspace

    return db.session.get(Workspace, site.workspace_id)


def _probe_lines(probe):
    return probe.read_text().splitlines() if probe.exists() else []


def _every_socket_hears(sockets, run_id, timeout=5, heard=None, unlike=None):
    """Wait until every socket received a page showing run ``run_id`` (with a freshness
    other than ``unlike``, when given); returns {socket: latest page}.

    A push is the whole page, so one message may show several runs just changed: pass the
    same ``heard`` to count a page already received.
    """
    heard = {} if heard is None else heard

    def shown(page):
        found = re.search(rf'data-run-id="{run_id}" data-freshness="([^"]*)"', page or "")
        return found is not None and found.group(1) != unlike

    for socket in sockets:
        deadline = time.monotonic() + timeout
        while not shown(heard.get(socket)):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"a socket never heard about run {run_id}"
            message = socket.receive(timeout=remaining)
            if message and not STATE.match(message):
                heard[socket] = message
    return heard


def _freshness(page, run_id):
    return re.search(rf'data-run-id="{run_id}" data-freshness="([^"]*)"', page).group(1)


def test_a_change_anywhere_reaches_clients_on_both_workers(cluster):
    site, ports, probe = cluster
    sockets, workers = _sockets_on_every_worker(site, ports, probe)
    assert len(workers) == WORKERS

    with site.app.app_context():
        now = SystemClock().now()
        written = create_run(
            workspace_id=site.workspace_id,
            tenant_id=site.alpha.id,
            type="baseline_compare",
            now=now,
            actor="writer",
        ).id
        stale = create_run(
            workspace_id=site.workspace_id,
            tenant_id=site.bravo.id,
            type="baseline_compare",
            now=now,
            actor="writer",
            status="running",
            created_at=now - timedelta(hours=3),
            started_at=now - timedelta(hours=3),
        ).id
        secret = create_token(_ws(site), "multi", now=now).secret
        db.session.remove()
    heard = _every_socket_hears(sockets, written)
    _every_socket_hears(sockets, stale, heard=heard)
    before = {run: _freshness(heard[sockets[0]], run) for run in (written, stale)}

    request = urllib.request.Request(
        f"http://127.0.0.1:{ports[0]}/api/v1/runs/{written}/complete",
        data=json.dumps({"outcome": "failed", "message": "boom"}).encode(),
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10):
        pass
    _every_socket_hears(sockets, written, heard=heard, unlike=before[written])

    reconciler = subprocess.Popen(
        [sys.executable, "-m", "reconciler"],
        cwd=ROOT,
        env=dict(site.env, RUNWARDEN_RECONCILER="external", RECONCILER_INTERVAL_SECONDS="1"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _every_socket_hears(sockets, stale, timeout=20, heard=heard, unlike=before[stale])
    finally:
        reconciler.terminate()
        reconciler.wait(15)
    for socket in sockets:
        socket.close()


def _stop(processes):
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture
def production(tmp_path):
    """The production shape from gunicorn.conf.py: a web gunicorn (RUNWARDEN_LIVE=external)
    and a live gunicorn (RUNWARDEN_SERVE=live) on the test database."""
    site = build_site(tmp_path, require_postgres())
    web_port, live_port = free_port(), free_port()
    shapes = (
        dict(
            RUNWARDEN_SERVE="web",
            RUNWARDEN_LIVE="external",
            RUNWARDEN_BIND=f"127.0.0.1:{web_port}",
            RUNWARDEN_WORKERS="1",
            RUNWARDEN_THREADS="8",
        ),
        dict(
            RUNWARDEN_SERVE="live",
            RUNWARDEN_LIVE_BIND=f"127.0.0.1:{live_port}",
            RUNWARDEN_LIVE_THREADS="96",  # 32 open pages: 64 threads stay spare
        ),
    )
    log = open(tmp_path / "gunicorn.log", "ab")  # noqa: SIM115
    processes = []
    try:
        for port, shape in zip((web_port, live_port), shapes, strict=True):
            process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"],
                cwd=ROOT,
                env=dict(site.env, **shape),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            processes.append(process)
            LiveServer.wait_healthy(f"http://127.0.0.1:{port}", process, timeout=30)
        yield site, web_port, live_port
    finally:
        _stop(processes)
        log.close()
        with site.app.app_context():
            db.drop_all()
            db.engine.dispose()


def _cookie_of(site, email):
    from app.models import User

    with site.app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == email))
        cookie = login(site.app.test_client(), user).get_cookie("session").value
        db.session.remove()
    return cookie


def _api_create(port, token, tenant):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/runs",
        data=json.dumps({"type": "quick_check", "tenant": tenant, "status": "running"}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
        return json.loads(response.read())["id"]


def _hears(socket, run_id, timeout=5):
    """Messages up to the first that shows run ``run_id`` (fails after ``timeout``)."""
    marker, heard = f'data-run-id="{run_id}"', []
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"the socket never heard about run {run_id}"
        message = socket.receive(timeout=remaining)
        if message:
            heard.append(message)
            if marker in message:
                return heard


def test_the_live_process_pushes_what_the_web_process_commits(production):
    site, web_port, live_port = production
    owner = _cookie_of(site, "owner@example.test")
    viewer = _cookie_of(site, "bravo@example.test")

    connection = http.client.HTTPConnection("127.0.0.1", web_port, timeout=5)
    try:
        connection.request(
            "GET", "/live/stream?page=/admin", headers=dict(UPGRADE, Cookie=f"session={owner}")
        )
        refused = connection.getresponse()
        assert refused.status == 503 and refused.getheader("Retry-After")
    finally:
        connection.close()

    base = f"ws://127.0.0.1:{live_port}/live/stream?page=/admin"
    on_overview, on_bravo = connect_ws(base, owner), connect_ws(base, viewer)
    for socket in (on_overview, on_bravo):
        assert STATE.match(socket.receive(timeout=5))

    hidden = _api_create(web_port, site.token, "alpha")
    _hears(on_overview, hidden)
    visible = _api_create(web_port, site.token, "bravo")
    _hears(on_overview, visible)
    heard = _hears(on_bravo, visible)
    assert not any(f'data-run-id="{hidden}"' in message for message in heard)
    for socket in (on_overview, on_bravo):
        socket.close()
