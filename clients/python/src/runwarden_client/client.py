"""The client: ``Runwarden(url, token)``, its runs and the ``run`` context manager."""

import contextlib
import logging
import threading
import uuid

from runwarden_client.heartbeats import Heartbeater
from runwarden_client.transport import ApiError, Backoff, RunwardenError, Transport

logger = logging.getLogger("runwarden_client")

MAX_MESSAGE = 4000


class Run:
    """A run this process reports. ``progress`` is sent by the next heartbeat (or with the
    completion); ``heartbeat`` sends it at once."""

    def __init__(self, client, data):
        self.client = client
        self.data = data
        self.id = data["id"]
        self.closed_by_server = False
        self._lock = threading.Lock()
        self._processed = data.get("processed")
        self._total = data.get("total")

    def __repr__(self):
        return f"<Run {self.id} {self.data.get('type')} {self.data.get('status')}>"

    def path(self, action=None):
        """The run's API path, or that of one of its actions."""
        base = f"/api/v1/runs/{self.id}"
        return f"{base}/{action}" if action else base

    def update(self, data):
        """Keep the server's latest view of the run."""
        if data is not None:
            self.data = data

    def progress(self, processed, total=None):
        """Record progress; the heartbeat thread reports it within its interval."""
        with self._lock:
            self._processed = processed
            if total is not None:
                self._total = total

    def report(self):
        """The heartbeat item of this run: its id and the progress recorded so far."""
        with self._lock:
            item = {"run_id": self.id}
            if self._processed is not None:
                item["processed"] = self._processed
            if self._total is not None:
                item["total"] = self._total
            return item

    def progress_body(self):
        """The recorded progress as a single call's body."""
        return {k: v for k, v in self.report().items() if k != "run_id"}

    def heartbeat(self):
        """Heartbeat now, with the recorded progress."""
        body = self.progress_body()
        self.update(self.client.transport.request("POST", self.path("heartbeat"), body))
        return self

    def complete(self, outcome="succeeded", message=None):
        """Complete the run with ``outcome`` and stop heartbeating it.

        A completion retried after a lost answer finds the run completed (409): when the
        server holds the same outcome, that was this completion, and the run is returned.
        """
        self.client.heartbeater.unregister(self)
        body = {"outcome": outcome, **self.progress_body()}
        if message is not None:
            body["message"] = message[:MAX_MESSAGE]
        try:
            self.update(self.client.transport.request("POST", self.path("complete"), body))
        except ApiError as exc:
            if exc.status != 409:
                raise
            current = self.client.transport.request("GET", self.path())
            self.update(current)
            if current.get("outcome") != outcome or current.get("reconciled_at"):
                raise
        return self

    def fail(self, message):
        """Complete the run as failed with ``message``."""
        return self.complete("failed", message)


class Runwarden:
    """A worker's connection to Runwarden: creates runs and heartbeats them.

    ``heartbeat_interval`` (seconds) paces the background heartbeat thread; ``retries``,
    ``backoff`` and ``max_backoff`` shape the retries of every call; ``batch=False`` sends
    one heartbeat call per run instead of one per beat.
    """

    def __init__(
        self,
        url,
        token,
        *,
        heartbeat_interval=30.0,
        timeout=10.0,
        retries=5,
        backoff=0.5,
        max_backoff=30.0,
        batch=True,
        transport=None,
    ):
        self.transport = transport or Transport(
            url, token, timeout=timeout, retries=retries, backoff=Backoff(backoff, max_backoff)
        )
        self.heartbeater = Heartbeater(self.transport, heartbeat_interval, batch=batch)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Stop the heartbeat thread."""
        self.heartbeater.stop()

    def start(
        self,
        type,
        tenant=None,
        *,
        status="running",
        total=None,
        initiator=None,
        context=None,
        idempotency_key=None,
    ):
        """Create a run (running by default) and heartbeat it; returns its Run.

        The create carries ``idempotency_key`` (a fresh one by default) on every attempt,
        so a retry after a lost answer returns the run the first attempt created.
        """
        body = {"type": type, "tenant": tenant, "status": status}
        extras = {"total": total, "initiator": initiator, "context": context}
        body.update({k: v for k, v in extras.items() if v is not None})
        key = idempotency_key or str(uuid.uuid4())
        data = self.transport.request("POST", "/api/v1/runs", body, {"Idempotency-Key": key})
        run = Run(self, data)
        if status == "running":
            self.heartbeater.register(run)
        return run

    def begin(self, run):
        """queued → running, and heartbeat it from now on."""
        run.update(self.transport.request("POST", run.path("start"), {}))
        self.heartbeater.register(run)
        return run

    def get(self, run_id):
        """The run as the server shows it (a dict)."""
        return self.transport.request("GET", f"/api/v1/runs/{run_id}")

    @contextlib.contextmanager
    def run(self, type, tenant=None, **options):
        """Start a run, yield it, and complete it: ``succeeded`` when the block ends,
        ``failed`` with the exception's message when it raises (the exception goes on)."""
        run = self.start(type, tenant, **options)
        try:
            yield run
        except BaseException as exc:
            try:
                run.fail(_message(exc))
            except RunwardenError:  # the worker's own exception is the one to raise
                logger.exception("runwarden: could not report run %s as failed", run.id)
            raise
        else:
            run.complete("succeeded")


def _message(exc):
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
