"""Several processes on PostgreSQL: two gunicorn workers, a reconciler, a writer.

A change made in any process reaches the stream sockets held by both workers.
"""

import json
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
        assert socket.receive(timeout=5) == "ping"
        pid = _probe_lines(probe)[len(before) :][-1].split()[0]
        workers.setdefault(pid, []).append(socket)
        sockets.append(socket)
    return sockets, workers


def _ws(site):
    from app.models import Workspace

    return db.session.get(Workspace, site.workspace_id)


def _probe_lines(probe):
    return probe.read_text().splitlines() if probe.exists() else []


def _every_socket_hears(sockets, run_id, timeout=5):
    marker = f'data-run-id="{run_id}"'
    for socket in sockets:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"a socket never heard about run {run_id}"
            message = socket.receive(timeout=remaining)
            if message and marker in message:
                break


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
    _every_socket_hears(sockets, written)
    _every_socket_hears(sockets, stale)

    request = urllib.request.Request(
        f"http://127.0.0.1:{ports[0]}/api/v1/runs/{written}/complete",
        data=json.dumps({"outcome": "failed", "message": "boom"}).encode(),
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10):
        pass
    _every_socket_hears(sockets, written)

    reconciler = subprocess.Popen(
        [sys.executable, "-m", "reconciler"],
        cwd=ROOT,
        env=dict(site.env, RUNWARDEN_RECONCILER="external", RECONCILER_INTERVAL_SECONDS="1"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _every_socket_hears(sockets, stale, timeout=20)
    finally:
        reconciler.terminate()
        reconciler.wait(15)
    for socket in sockets:
        socket.close()
