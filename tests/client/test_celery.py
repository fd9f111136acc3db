"""Celery tasks reported as runs, by a real worker on the machine's Redis."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from app.models import OperationRun
from tests.client.conftest import CLIENT_SRC

ROOT = Path(__file__).resolve().parents[2]
BROKER = os.environ.get("CELERY_TEST_BROKER", "redis://127.0.0.1:6379/0")
RESULT_TIMEOUT = 60


@pytest.fixture
def worker(server, token):
    """A Celery worker process (solo pool) on its own queue, reporting to ``server``."""
    queue = f"runwarden-client-tests-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(CLIENT_SRC)]),
        "RUNWARDEN_URL": server,
        "RUNWARDEN_TOKEN": token,
        "CELERY_TEST_BROKER": BROKER,
        "CELERY_TEST_QUEUE": queue,
    }
    command = [sys.executable, "-m", "celery", "-A", "tests.client.celery_app", "worker"]
    command += ["--pool=solo", "-Q", queue, "-n", f"{queue}@localhost", "-l", "warning"]
    command += ["--without-heartbeat", "--without-gossip", "--without-mingle"]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        yield queue
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _runs(db):
    db.session.rollback()
    db.session.expire_all()
    return db.session.query(OperationRun).order_by(OperationRun.id).all()


def test_tasks_are_reported_as_runs(worker, db, tenant):
    from tests.client.celery_app import baseline_compare, restore_everything, unreported

    ok = baseline_compare.apply_async(args=("contoso", 3), queue=worker)
    assert ok.get(timeout=RESULT_TIMEOUT) == 3
    failed = restore_everything.apply_async(queue=worker)
    with pytest.raises(RuntimeError, match="backup set missing"):
        failed.get(timeout=RESULT_TIMEOUT)
    assert unreported.apply_async(queue=worker).get(timeout=RESULT_TIMEOUT) == "quiet"

    first, second = _runs(db)
    assert (first.type, first.tenant_id, first.status, first.outcome) == (
        "baseline_compare",
        tenant.id,
        "completed",
        "succeeded",
    )
    assert (first.processed, first.total) == (3, 3)
    assert first.context["task_id"] == ok.id and first.initiator == "celery:baseline_compare"
    assert (second.type, second.tenant_id, second.outcome) == ("policy_restore", None, "failed")
    assert second.failure_message == "RuntimeError: backup set missing"
    for result in (ok, failed):
        result.forget()
