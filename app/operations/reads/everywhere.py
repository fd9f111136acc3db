"""Reads across every workspace: ``SystemReads(policy, now)``, for the reconciler, the
metrics, time-only notifications and the demo's summary (never for a page: no Scope).
Runs come back as every read returns them: RunReads."""

from app.extensions import db
from app.operations import freshness as fr
from app.operations.reads import insights, system
from app.operations.reads.model import reads_of


class SystemReads:
    """Reads across every workspace at ``now`` under ``policy``: for the reconciler, the
    metrics and time-only notifications, never for a page (they see no Scope)."""

    def __init__(self, policy, now):
        self.policy, self.now = policy, now
        self._values = fr.instant(policy, now)

    def _execute(self, statement, **values):
        return db.session.execute(statement, {**self._values, **values})

    def any_due(self):
        """Whether any run's reconcile time has come (nothing locked)."""
        return self._execute(system.first_due_query(self.policy)).first() is not None

    def due_batch(self, last_id, size, lock_rows):
        """The next runs after ``last_id`` whose reconcile time has come, in id order;
        ``lock_rows``: locked ``FOR UPDATE SKIP LOCKED`` (PostgreSQL)."""
        query = system.due_batch_query(self.policy, size, lock_rows)
        return reads_of(self._execute(query, last_id=last_id))

    def unannounced_stale(self, last_id, size):
        """The next likely stale runs after ``last_id`` in id order, of workspaces with an
        enabled notification channel, that have no open "stale" notification event."""
        query = system.unannounced_stale_query(self.policy, size)
        return reads_of(self._execute(query, last_id=last_id))

    def recovered(self, size):
        """Up to ``size`` open "stale" notification events, in id order, whose run is no
        longer likely stale: (id, workspace_id, tenant_id, run_id, and the run's outcome,
        completed_at, last_heartbeat_at, then the event's transition_at)."""
        return self._execute(system.recovered_query(self.policy, size)).all()

    def active_by_freshness(self):
        """{freshness state: how many active runs}."""
        return dict(self._execute(system.active_by_freshness_query(self.policy)).all())

    def reconciled_by_reason(self):
        """{reconciliation reason: how many runs the reconciler closed for it}."""
        return dict(self._execute(system.RECONCILED_BY_REASON).all())

    def runs_in(self, workspace_ids):
        """Every run of ``workspace_ids``, for the demo's own summary."""
        ids = sorted(workspace_ids)
        return reads_of(self._execute(system.RUNS_IN, workspace_ids=ids)) if ids else []

    def runs(self, run_ids):
        """{id: run} of the runs ``run_ids`` (a notification names its runs)."""
        if not run_ids:
            return {}
        rows = self._execute(system.RUNS_BY_ID, run_ids=sorted(set(run_ids)))
        return {run.id: run for run in reads_of(rows)}

    def workspaces_of(self, run_ids):
        """The workspaces of the runs ``run_ids``."""
        if not run_ids:
            return []
        return list(self._execute(system.WORKSPACES_OF, run_ids=sorted(run_ids)).scalars())

    def insight_rows(self, since, until):
        """Every run completed from ``since`` (included) to ``until`` (excluded),
        aggregated for the insights rollup: see ``RunReads.insight_rows``."""
        values = {"range_from": since, "range_until": until}
        return insights.rows(self._execute, self.policy, insights.Narrow(), values)

    def first_completed_at(self):
        """When the first run of any workspace completed (None: none has)."""
        return self._execute(insights.FIRST_COMPLETED).scalar()

    def completed_per_day(self, since, until):
        """{UTC day (as the database answers it): runs completed in it}, from ``since``
        (included) to ``until`` (excluded)."""
        query = insights.completed_per_day_query()
        return dict(self._execute(query, range_from=since, range_until=until).all())
