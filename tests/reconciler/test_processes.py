"""Real processes: embedded mode under the dev server and gunicorn, and lease handover.

Each test starts its processes in their own session and kills exactly those at the end.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.models import ReconcilerLease, ReconcilerPass
from config import TestConfig, normalize_database_url
from tests.conftest import _truncate_all, require_postgres

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STARTED = "reconciler scheduler started"
WAIT = 15


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request, tmp_path):
    """An empty schema in a SQLite file or the PostgreSQL test database; its URL."""
    if request.param == "postgres":
        url = require_postgres()
    else:
        url = f"sqlite:///{tmp_path / 'runwarden.db'}"
    app = create_app(TestConfig(url))
    with app.app_context():
        if request.param == "postgres":
            _truncate_all()
        db.create_all()
        db.engine.dispose()
    engine = sa.create_engine(normalize_database_url(url))
    yield url, engine
    engine.dispose()
    if request.param == "postgres":
        with app.app_context():
            _truncate_all()
            db.engine.dispose()


@pytest.fixture
def sqlite_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'runwarden.db'}"
    app = create_app(TestConfig(url))
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    engine = sa.create_engine(url)
    yield url, engine
    engine.dispose()


class Processes:
    """Processes started by one test, each in its own session, with output in files."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.started = []

    def start(self, name, argv, url, **env):
        environ = dict(
            os.environ,
            DATABASE_URL=url,
            SECRET_KEY="process-test-secret",
            RUNWARDEN_RECONCILER="embedded",
            RECONCILER_INTERVAL_SECONDS="1",
            PYTHONUNBUFFERED="1",
        )
        environ.update(env)
        environ.pop("WERKZEUG_RUN_MAIN", None)
        environ.pop("RUNWARDEN_RECONCILER_OWNER", None)
        log_path = self.tmp_path / f"{name}.log"
        with log_path.open("w") as log:
            proc = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=environ,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        proc.log_path = log_path
        self.started.append(proc)
        return proc

    def stop_all(self):
        for proc in self.started:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(WAIT)


def output(proc):
    return Path(proc.log_path).read_text()


@pytest.fixture
def processes(tmp_path):
    started = Processes(tmp_path)
    yield started
    started.stop_all()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, what, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def get(port, path="/healthz"):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
            return response.status
    except OSError:
        return None


def passes(engine):
    with engine.connect() as conn:
        rows = conn.execute(sa.select(ReconcilerPass.holder).order_by(ReconcilerPass.id))
        return [row.holder for row in rows]


def lease(engine):
    with engine.connect() as conn:
        return conn.execute(sa.select(ReconcilerLease.holder, ReconcilerLease.expires_at)).first()


def pid_of(holder):
    return int(holder.split(":")[1])


def test_embedded_under_the_dev_server_with_reloader_starts_one_scheduler(database, processes):
    url, engine = database
    port = free_port()
    # The reloader runs (watcher + serving child) but ignores edits made meanwhile.
    argv = [str(BIN / "flask"), "--app", "wsgi", "run", "--debug", "--port", str(port)]
    server = processes.start("flask", argv + ["--exclude-patterns", "*"], url)
    wait_for(lambda: get(port) == 200, "the dev server")
    for _ in range(5):
        assert get(port) == 200
    holders = wait_for(lambda: len(passes(engine)) >= 3 and passes(engine), "three passes")
    log = output(server)
    assert "Restarting with" in log, log
    assert log.count(STARTED) == 1, log
    assert len(set(holders)) == 1 and holders[0].endswith("(embedded)")
    # The serving process is the reloader's child, never the watcher we started.
    assert pid_of(holders[0]) != server.pid


def test_embedded_under_gunicorn_with_two_workers_starts_one_scheduler(database, processes):
    url, engine = database
    port = free_port()
    argv = [str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}"]
    master = processes.start("gunicorn", argv, url)
    wait_for(lambda: get(port) == 200, "gunicorn")
    for _ in range(20):
        assert get(port) == 200
    holders = wait_for(lambda: len(passes(engine)) >= 3 and passes(engine), "three passes")
    log = output(master)
    assert log.count("Booting worker with pid") == 2, log
    assert log.count(STARTED) == 1, log
    assert set(holders) == {holders[0]} and holders[0].endswith("(gunicorn master)")
    assert pid_of(holders[0]) == master.pid
    os.killpg(master.pid, signal.SIGTERM)
    assert master.wait(WAIT) == 0
    assert "reconciler scheduler stopped" in output(master)


def test_the_lease_passes_to_the_second_reconciler_when_the_first_is_killed(database, processes):
    url, engine = database
    argv = [sys.executable, "-m", "reconciler"]
    first = processes.start("first", argv, url, RUNWARDEN_RECONCILER="external")
    wait_for(lambda: (row := lease(engine)) and pid_of(row.holder) == first.pid, "first leads")
    second = processes.start("second", argv, url, RUNWARDEN_RECONCILER="external")
    wait_for(lambda: STARTED in output(second), "second starts")
    seen = len(passes(engine))
    wait_for(lambda: len(passes(engine)) >= seen + 2, "two more passes")
    assert {pid_of(h) for h in passes(engine)} == {first.pid}

    os.killpg(first.pid, signal.SIGKILL)
    first.wait(WAIT)
    killed_at = time.monotonic()
    wait_for(lambda: pid_of(lease(engine).holder) == second.pid, "second takes over")
    takeover = time.monotonic() - killed_at
    wait_for(lambda: pid_of(passes(engine)[-1]) == second.pid, "a pass by the second")
    # PostgreSQL: the advisory lock dies with the connection; SQLite: the row expires (5 s).
    assert takeover < (3 if engine.dialect.name == "postgresql" else 8), takeover

    os.killpg(second.pid, signal.SIGTERM)
    assert second.wait(WAIT) == 0
    assert "reconciler scheduler stopped" in output(second)
    # Released on the way out: the lease is no longer live for anyone.
    assert lease(engine).expires_at <= datetime.now(UTC).replace(tzinfo=None)


def test_python_m_reconciler_exits_when_switched_off(sqlite_database, processes):
    url, engine = sqlite_database
    proc = processes.start(
        "off", [sys.executable, "-m", "reconciler"], url, RUNWARDEN_RECONCILER="off"
    )
    assert proc.wait(WAIT) == 0
    assert "disabled" in output(proc)
    assert passes(engine) == []
