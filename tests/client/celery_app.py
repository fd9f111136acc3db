"""The Celery app of the client tests: ``celery -A tests.client.celery_app worker``.

Broker, result backend and queue come from the environment the test sets; the worker
reports its tasks to the Runwarden server at RUNWARDEN_URL.
"""

import os

from celery import Celery
from runwarden_client import Runwarden
from runwarden_client import celery as runwarden_celery

broker = os.environ.get("CELERY_TEST_BROKER", "redis://127.0.0.1:6379/0")
app = Celery("runwarden_client_tests", broker=broker, backend=broker)
app.conf.update(
    task_default_queue=os.environ.get("CELERY_TEST_QUEUE", "runwarden-client-tests"),
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    result_expires=600,
)

if os.environ.get("RUNWARDEN_URL"):
    runwarden_celery.install(
        Runwarden(os.environ["RUNWARDEN_URL"], os.environ["RUNWARDEN_TOKEN"], retries=2)
    )


@app.task(name="baseline_compare")
@runwarden_celery.report(tenant=lambda tenant, steps: tenant)
def baseline_compare(tenant, steps):
    """Named after a configured type: the run's type is the task's name."""
    for step in range(1, steps + 1):
        runwarden_celery.current_run().progress(step, steps)
    return steps


@app.task(name="tests.restore_everything")
@runwarden_celery.report("policy_restore")
def restore_everything():
    """Typed by the decorator; workspace-level; fails."""
    raise RuntimeError("backup set missing")


@app.task(name="tests.unreported")
def unreported():
    """Not decorated: not reported."""
    return "quiet"
