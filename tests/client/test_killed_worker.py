"""A worker killed inside ``client.run``: its run goes stale and is reconciled as usual."""

import os
import select
import signal
import subprocess
import sys
import textwrap

from app.operations.freshness import freshness
from reconciler.reconcile import run_pass
from tests.client.conftest import CLIENT_SRC, stored, wait_for

WORKER = textwrap.dedent(
    """
    import sys, time
    from runwarden_client import Runwarden

    client = Runwarden(sys.argv[1], sys.argv[2], heartbeat_interval=0.05)
    with client.run("baseline_compare", tenant="contoso", total=100) as run:
        run.progress(10)
        print(run.id, flush=True)
        time.sleep(300)
    """
)


def _start_worker(server, token):
    env = {**os.environ, "PYTHONPATH": str(CLIENT_SRC)}
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, server, token], stdout=subprocess.PIPE, env=env, text=True
    )


def test_a_killed_worker_leaves_a_run_the_reconciler_closes(server, token, clock, policy):
    process = _start_worker(server, token)
    try:
        ready, _, _ = select.select([process.stdout], [], [], 30)
        assert ready, "the worker did not start a run"
        run_id = int(process.stdout.readline())
        assert wait_for(lambda: stored(run_id).processed == 10)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        process.stdout.close()

    run = stored(run_id)
    assert (run.status, run.outcome) == ("running", "pending")
    kind = policy.for_type("baseline_compare")
    clock.advance(kind.heartbeat_stale + kind.reconcile_grace + 1)
    assert freshness(run, policy, clock.now()).stale_reason == "no_heartbeat"
    assert run_pass(holder="test").reconciled == 1
    run = stored(run_id)
    assert (run.status, run.outcome) == ("completed", "failed")
    assert run.reconciliation_reason == "stale_no_heartbeat"
