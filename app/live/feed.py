"""Reading the change feed (``run_changes``) past a cursor without ever skipping a row.

On PostgreSQL, ids are handed out before commit, so a row with a smaller id can become
visible after a larger one. The feed therefore remembers which ids between its settled
cursor and the highest id it has seen are still missing, asks for them again on every
read, and only gives a missing id up (a rolled-back insert) after ``gap_timeout`` seconds.
"""

import time
from dataclasses import dataclass

import sqlalchemy as sa

from app.models import RunChange

BATCH = 1000
MAX_MISSING = 10_000


@dataclass(frozen=True)
class Change:
    """One row of the change feed."""

    id: int
    run_id: int
    workspace_id: int
    tenant_id: int | None


class ChangeFeed:
    """A cursor over ``run_changes``; ``read`` returns each committed row exactly once."""

    def __init__(self, engine, gap_timeout=10.0, monotonic=time.monotonic):
        self.engine = engine
        self.gap_timeout = gap_timeout
        self._monotonic = monotonic
        self.cursor = None
        self.high = None
        self._seen = set()
        self._missing = {}

    def start_at_tail(self):
        """Skip history: the next read returns only rows committed from now on."""
        with self.engine.connect() as conn:
            tail = conn.scalar(sa.select(sa.func.max(RunChange.id))) or 0
        self.cursor = self.high = tail
        self._seen.clear()
        self._missing.clear()
        return tail

    @property
    def missing(self):
        """Ids below the highest seen one that have not been committed (yet)."""
        return sorted(self._missing)

    def read(self):
        """New rows since the last read, in id order."""
        if self.cursor is None:
            self.start_at_tail()
        rows = self._fetch()
        now = self._monotonic()
        fresh = []
        for row in rows:
            if row.id <= self.cursor or row.id in self._seen:
                continue
            fresh.append(Change(row.id, row.run_id, row.workspace_id, row.tenant_id))
            self._seen.add(row.id)
            self._missing.pop(row.id, None)
            if row.id > self.high:
                for gap in range(max(self.high + 1, row.id - MAX_MISSING), row.id):
                    self._missing[gap] = now
                self.high = row.id
        self._expire(now)
        self._settle()
        return fresh

    def prune(self, before):
        """Delete settled rows written before ``before`` (an app-clock instant)."""
        if self.cursor is None:
            return 0
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.delete(RunChange).where(RunChange.id <= self.cursor, RunChange.at < before)
            )
        return result.rowcount

    def _fetch(self):
        query = sa.select(
            RunChange.id, RunChange.run_id, RunChange.workspace_id, RunChange.tenant_id
        )
        with self.engine.connect() as conn:
            tail = query.where(RunChange.id > self.high).order_by(RunChange.id).limit(BATCH)
            rows = list(conn.execute(tail))
            if self._missing:
                missing = sorted(self._missing)
                for start in range(0, len(missing), BATCH):
                    chunk = missing[start : start + BATCH]
                    rows.extend(conn.execute(query.where(RunChange.id.in_(chunk))))
        return sorted(rows, key=lambda row: row.id)

    def _expire(self, now):
        for gap, since in list(self._missing.items()):
            if now - since > self.gap_timeout:
                del self._missing[gap]

    def _settle(self):
        while self.cursor < self.high and self.cursor + 1 not in self._missing:
            self.cursor += 1
            self._seen.discard(self.cursor)
