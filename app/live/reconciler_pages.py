"""Open reconciler pages follow the reconciler's own state, which the change feed lacks."""

from app.extensions import db
from app.operations.clock import get_clock
from app.operations.reconciler_status import reconciler_status


class ReconcilerPages:
    """Remembers the reconciler's state as last seen by the live worker."""

    def __init__(self):
        self.seen = None

    def moved(self, app, keys):
        """Due entries for the reconciler page groups ``keys`` when the reconciler's state
        changed since the last look (a pass started or finished, the lease moved, it turned
        stale): passes are not runs, so the change feed does not carry them. One
        statement, only while such a page is open."""
        if not keys:
            return []
        with app.app_context():
            try:
                status = reconciler_status(get_clock(app).now())
            finally:
                db.session.remove()
        seen = (
            status.state,
            status.last_pass_started_at,
            status.last_success_at,
            status.next_pass_at,
            status.lease_holder,
            status.lease_live,
        )
        if seen == self.seen:
            return []
        first, self.seen = self.seen is None, seen
        return [] if first else [(key, None) for key in keys]
