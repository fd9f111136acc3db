"""Leader election: at most one scheduler runs passes at a time.

PostgreSQL: a session-level ``pg_try_advisory_lock`` held on a dedicated connection. The
lock dies with its connection, so when the holder's process dies another process takes over
on its next attempt. Elsewhere (SQLite): a lease row with an expiry, renewed by its holder
and taken over once it has expired. In both cases the holder keeps the ``reconciler_lease``
row current so every process can show who holds the lease.

Correctness never depends on the lease: passes close runs with a compare-and-set.
"""

import logging
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from app.models import ReconcilerLease
from app.operations.reconciler_status import LEASE_NAME

logger = logging.getLogger("runwarden.reconciler")

# Fixed key of the advisory lock ("RWRECONC" as a 63-bit integer).
ADVISORY_KEY = int.from_bytes(b"RWRECONC", "big") >> 1
TABLE = ReconcilerLease.__table__


class RowLease:
    """A lease row with an expiry: held while its holder renews it before it expires."""

    def __init__(self, engine, holder, ttl_seconds):
        self.engine = engine
        self.holder = holder
        self.ttl = timedelta(seconds=ttl_seconds)
        self.expires_at = None

    def held(self, now):
        """Whether this process may act as the leader at ``now``."""
        return self.expires_at is not None and now < self.expires_at

    def acquire(self, now):
        """Take the lease if it is free or expired, or renew it; return whether it is held."""
        try:
            with self.engine.begin() as conn:
                if not self._renew(conn, now):
                    conn.execute(sa.insert(TABLE).values(self._values(now, now)))
        except sa.exc.IntegrityError:
            self.expires_at = None
            return False
        except sa.exc.OperationalError as exc:
            # Busy database: keep what we had until it expires.
            logger.warning("reconciler lease not renewed: %s", exc.orig)
            return self.held(now)
        self.expires_at = now + self.ttl
        return True

    def _values(self, now, acquired_at):
        return {
            "name": LEASE_NAME,
            "holder": self.holder,
            "acquired_at": acquired_at,
            "expires_at": now + self.ttl,
        }

    def _renew(self, conn, now):
        mine = TABLE.c.holder == self.holder
        result = conn.execute(
            sa.update(TABLE)
            .where(TABLE.c.name == LEASE_NAME, sa.or_(mine, TABLE.c.expires_at < now))
            .values(
                holder=self.holder,
                acquired_at=sa.case((mine, TABLE.c.acquired_at), else_=now),
                expires_at=now + self.ttl,
            )
        )
        return result.rowcount == 1

    def release(self, now):
        """Give the lease up at once so another process can take over without waiting."""
        if self.expires_at is None:
            return
        self.expires_at = None
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    sa.update(TABLE)
                    .where(TABLE.c.name == LEASE_NAME, TABLE.c.holder == self.holder)
                    .values(expires_at=now - timedelta(microseconds=1))
                )
        except sa.exc.SQLAlchemyError as exc:
            logger.warning("reconciler lease not released: %s", exc)


class AdvisoryLease(RowLease):
    """PostgreSQL: the advisory lock decides; the lease row only shows the holder."""

    def __init__(self, engine, holder, ttl_seconds):
        super().__init__(engine, holder, ttl_seconds)
        self._lock_engine = sa.create_engine(engine.url, poolclass=NullPool)
        self._conn = None
        self._locked = False

    def held(self, now):
        return self._locked

    @property
    def backend_pid(self):
        """The PostgreSQL backend of the lock connection (None when not connected)."""
        if self._conn is None:
            return None
        return self._conn.connection.driver_connection.info.backend_pid

    def acquire(self, now):
        """Take or keep the advisory lock; while held, keep the lease row current."""
        try:
            if self._conn is None:
                self._conn = self._lock_engine.connect()
            if self._locked:
                self._conn.execute(sa.select(1))
            else:
                self._locked = bool(
                    self._conn.scalar(sa.select(sa.func.pg_try_advisory_lock(ADVISORY_KEY)))
                )
            self._conn.commit()
        except sa.exc.DBAPIError as exc:
            if self._locked:
                logger.warning("reconciler lease lost with its connection: %s", exc.orig)
            self._drop()
            return False
        if self._locked:
            self._show(now)
        return self._locked

    def _show(self, now):
        try:
            with self.engine.begin() as conn:
                if (
                    conn.execute(
                        sa.update(TABLE)
                        .where(TABLE.c.name == LEASE_NAME)
                        .values(
                            holder=self.holder,
                            acquired_at=sa.case(
                                (TABLE.c.holder == self.holder, TABLE.c.acquired_at), else_=now
                            ),
                            expires_at=now + self.ttl,
                        )
                    ).rowcount
                    == 0
                ):
                    conn.execute(sa.insert(TABLE).values(self._values(now, now)))
            self.expires_at = now + self.ttl
        except sa.exc.SQLAlchemyError as exc:
            logger.warning("reconciler lease row not updated: %s", exc)

    def _drop(self):
        self._locked = False
        if self._conn is not None:
            try:
                self._conn.invalidate()
                self._conn.close()
            except sa.exc.SQLAlchemyError:
                pass
        self._conn = None

    def release(self, now):
        """Unlock, close the lock connection and mark the lease row expired."""
        was_locked = self._locked
        if was_locked:
            try:
                self._conn.scalar(sa.select(sa.func.pg_advisory_unlock(ADVISORY_KEY)))
                self._conn.commit()
            except sa.exc.DBAPIError:
                pass
        self._drop()
        self._lock_engine.dispose()
        if was_locked:
            super().release(now)


def make_lease(engine, holder, ttl_seconds):
    """The lease for ``engine``'s database."""
    cls = AdvisoryLease if engine.dialect.name == "postgresql" else RowLease
    return cls(engine, holder, ttl_seconds)
