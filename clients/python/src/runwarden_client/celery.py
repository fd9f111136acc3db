"""Report Celery tasks as Runwarden runs, through Celery's task signals.

    from runwarden_client import Runwarden
    from runwarden_client import celery as runwarden_celery

    runwarden_celery.install(Runwarden(url, token))

    @app.task
    @runwarden_celery.report("inventory_sync", tenant=lambda tenant, **_: tenant)
    def sync(tenant): ...

Each task run becomes a Runwarden run when it starts (``task_prerun``): its type is the
decorator's ``type``, or else the task's name (which must then be a configured operation
type); ``tenant`` is a fixed reference or a function of the task's arguments. The run is
heartbeaten while the task runs and completed ``succeeded`` when it returns
(``task_postrun``) or ``failed`` with the exception's message (``task_failure``). A task
killed with its worker stops heartbeating, and the server's reconciler closes its run.
``current_run()`` gives the task its Run, for ``progress``. Only tasks decorated with
``report`` are reported, unless ``install(..., every_task=True)``.
"""

import logging
import threading

from celery import signals

from runwarden_client.client import _message

logger = logging.getLogger("runwarden_client")

_state = {"client": None, "every_task": False}
_runs = {}
_lock = threading.Lock()
_current = threading.local()


def report(type=None, *, tenant=None):
    """Decorator (under ``@app.task``... or above the function) naming the run's type and
    tenant. ``tenant`` may be a callable receiving the task's arguments."""

    def mark(function):
        function.runwarden = {"type": type, "tenant": tenant}
        return function

    return mark


def install(client, *, every_task=False):
    """Report tasks of this worker process through ``client``."""
    _state.update(client=client, every_task=every_task)
    signals.task_prerun.connect(_prerun, weak=False)
    signals.task_postrun.connect(_postrun, weak=False)
    signals.task_failure.connect(_failure, weak=False)


def uninstall():
    """Stop reporting (tests)."""
    signals.task_prerun.disconnect(_prerun)
    signals.task_postrun.disconnect(_postrun)
    signals.task_failure.disconnect(_failure)
    _state.update(client=None, every_task=False)


def current_run():
    """The Run of the task executing on this thread, or None."""
    return getattr(_current, "run", None)


def _options(task):
    options = getattr(task, "runwarden", None) or getattr(
        getattr(task, "run", None), "runwarden", None
    )
    if options is None and _state["every_task"]:
        options = {"type": None, "tenant": None}
    return options


def _tenant(spec, args, kwargs):
    return spec(*args, **kwargs) if callable(spec) else spec


def _prerun(sender=None, task_id=None, task=None, args=None, kwargs=None, **_):
    client, options = _state["client"], _options(task)
    if client is None or options is None:
        return
    try:
        retries = getattr(task.request, "retries", 0) or 0
        run = client.start(
            options["type"] or task.name,
            _tenant(options["tenant"], args or (), kwargs or {}),
            initiator=f"celery:{task.name}",
            context={"task_id": task_id, "retries": retries},
            idempotency_key=f"celery-{task_id}-{retries}",
        )
    except Exception:  # reporting must never stop the task itself
        logger.exception("runwarden: could not report task %s as a run", task_id)
        return
    with _lock:
        _runs[task_id] = run
    _current.run = run


def _finish(task_id, outcome, message=None):
    with _lock:
        run = _runs.pop(task_id, None)
    _current.run = None
    if run is None:
        return
    try:
        run.complete(outcome, message)
    except Exception:
        logger.exception("runwarden: could not complete run %s of task %s", run.id, task_id)


def _failure(sender=None, task_id=None, exception=None, **_):
    _finish(task_id, "failed", _message(exception) if exception else "task failed")


def _postrun(sender=None, task_id=None, state=None, **_):
    if state == "SUCCESS":
        _finish(task_id, "succeeded")
    else:
        _finish(task_id, "failed", f"task ended in state {state}")
