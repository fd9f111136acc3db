"""One background thread per client that heartbeats every open run it knows.

All runs of the process share one call per beat: ``POST /api/v1/heartbeats`` with up to
500 items. A server without that endpoint (404 or 405 on it) is remembered and served with
one ``POST /runs/<id>/heartbeat`` per run instead. A run the server answers 409 for
(completed meanwhile, for example closed by the reconciler) stops being heartbeaten.
"""

import logging
import threading

from runwarden_client.transport import ApiError, RunwardenError

logger = logging.getLogger("runwarden_client")

BATCH_LIMIT = 500


class Heartbeater:
    """Heartbeats registered runs every ``interval`` seconds on a daemon thread."""

    def __init__(self, transport, interval, *, batch=True):
        self.transport = transport
        self.interval = interval
        self.batch = batch
        self._runs = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread = None

    def register(self, run):
        """Heartbeat ``run`` from now on (starts the thread on first use)."""
        with self._lock:
            self._runs[run.id] = run
            if self._thread is None or not self._thread.is_alive():
                self._stopped.clear()
                self._thread = threading.Thread(
                    target=self._loop, name="runwarden-heartbeat", daemon=True
                )
                self._thread.start()

    def unregister(self, run):
        """Stop heartbeating ``run``."""
        with self._lock:
            self._runs.pop(run.id, None)

    def beat_now(self):
        """Wake the thread for an immediate beat (tests, shutdown)."""
        self._wake.set()

    def stop(self):
        """End the thread; open runs are no longer heartbeaten."""
        self._stopped.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self.transport.timeout + 1)

    def _loop(self):
        while not self._stopped.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stopped.is_set():
                return
            try:
                self.beat()
            except Exception:  # the thread must outlive any one failed beat
                logger.exception("runwarden: heartbeat failed")

    def beat(self):
        """Send one heartbeat for every registered run."""
        with self._lock:
            runs = list(self._runs.values())
        if not runs:
            return
        if self.batch:
            try:
                for start in range(0, len(runs), BATCH_LIMIT):
                    self._send_batch(runs[start : start + BATCH_LIMIT])
                return
            except ApiError as exc:
                if exc.status not in (404, 405) or exc.code not in ("not_found", "http_error"):
                    raise
                logger.info("runwarden: no batch endpoint; heartbeating run by run")
                self.batch = False
        for run in runs:
            self._send_single(run)

    def _send_batch(self, runs):
        items = [run.report() for run in runs]
        answer = self.transport.request("POST", "/api/v1/heartbeats", {"items": items})
        for run, result in zip(runs, answer["results"], strict=True):
            if result["status"] == 409:
                self._closed(run, result.get("error", {}).get("message", "completed"))
            elif result["status"] != 200:
                logger.warning("runwarden: heartbeat of run %s refused: %s", run.id, result)

    def _send_single(self, run):
        try:
            run.update(self.transport.request("POST", run.path("heartbeat"), run.progress_body()))
        except ApiError as exc:
            if exc.status == 409:
                self._closed(run, exc.message)
            else:
                logger.warning("runwarden: heartbeat of run %s refused: %s", run.id, exc)
        except RunwardenError as exc:
            logger.warning("runwarden: heartbeat of run %s failed: %s", run.id, exc)

    def _closed(self, run, message):
        logger.warning("runwarden: run %s was completed by the server: %s", run.id, message)
        run.closed_by_server = True
        self.unregister(run)
