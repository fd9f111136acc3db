"""Workers sharing one reconciler pass: its counters, its stop, its threads.

On PostgreSQL the batches of a pass are locked ``FOR UPDATE SKIP LOCKED``, so workers on
their own connections take the next due runs that no other holds, as passes running at
once do. Each worker thread has its own app context, hence its own session and
connection. What they share goes through ``SharedPass`` under one lock: the summary, the
kept errors, the decision to stop, and where the next batch starts (``take``: after the
highest id any worker took). The first error of any worker stops the others after their
current batch and is raised to the caller of ``in_parallel``.
"""

import threading
from dataclasses import dataclass

from flask import current_app


@dataclass(frozen=True)
class BatchCounts:
    """What one committed batch did."""

    scanned: int
    reconciled: int
    skipped: int
    errors: list


class SharedPass:
    """The state of one pass that its workers update (``lock`` held by the caller for
    ``add``; ``carry_on`` takes it itself)."""

    def __init__(self, summary, keep_going=None):
        self.summary, self.errors = summary, []
        self.last_id = 0  # the highest id of any batch taken
        self.lock = threading.Lock()
        self._keep_going = keep_going
        self._stop = threading.Event()

    @property
    def stopped(self):
        return self._stop.is_set()

    def stop(self):
        self._stop.set()

    def take(self, select):
        """The next batch, ``select(after_id)``, taken under the lock: every worker goes on
        after the highest id taken by any, so a run is never handled twice in a pass (a
        run left open by an error is still due once its batch commits)."""
        with self.lock:
            batch = select(self.last_id)
            if batch:
                self.last_id = batch[-1].id
            return batch

    def add(self, counts, kept):
        """Count a committed batch in the summary; ``kept`` is the pass's kept errors."""
        summary = self.summary
        summary.scanned += counts.scanned
        summary.reconciled += counts.reconciled
        summary.skipped += counts.skipped
        summary.errors += len(counts.errors)
        self.errors[:] = kept

    def carry_on(self):
        """After a committed batch: whether to take another (``keep_going`` says, once for
        all workers: the first False stops the pass as "stopped")."""
        with self.lock:
            if self.stopped:
                return False
            if self._keep_going is not None and not self._keep_going():
                self.summary.outcome = "stopped"
                self.stop()
                return False
            return True


def in_parallel(workers, work, on_error):
    """Run ``work`` in ``workers`` threads at once, each in its own app context, and wait
    for all. The first error calls ``on_error`` (to stop the others) and is raised once all
    have ended."""
    if workers <= 1:
        work()
        return
    app = current_app._get_current_object()
    failures = []

    def guarded():
        try:
            with app.app_context():
                work()
        except BaseException as exc:  # noqa: BLE001 (raised again below, in the caller)
            failures.append(exc)
            on_error()

    threads = [threading.Thread(target=guarded, name=f"reconciler-{n}") for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
