"""RunStore: the one write interface for runs, and what both of its databases share.

A store writes; it decides nothing. ``lifecycle`` and ``closing`` say what a change is
allowed to do and what its events say, and hand the store the values; the store writes
the run (INSERT or compare-and-set UPDATE ... RETURNING), its timeline events and its
change-feed row in the current transaction, and returns the written row as the one read
model, ``RunRead`` (its tenant's columns come from the same RETURNING). Callers commit.
"""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from app.extensions import db
from app.models import RunEvent
from app.operations import freshness as fr
from app.operations.clock import isoformat
from app.operations.reads.model import RunRead
from app.operations.store.rules import RUNS, WRITTEN, late_report_statement

EVENT_COLUMNS = ("run_id", "kind", "at", "actor", "data")
EVENT_INSERT = sa.insert(RunEvent.__table__)
FEED_COLUMNS = ("run_id", "workspace_id", "tenant_id", "at")
# A few rows (one API call) go as plain executemany parameters; from this many on, a
# bound relation is cheaper (see ``relation``).
BULK_ROWS = 10


@dataclass(frozen=True)
class Report:
    """One heartbeat as a worker sent it: ``at`` is the report's own time."""

    run_id: int
    processed: int | None
    total: int | None
    at: datetime

    def data(self):
        """What the report said, as its timeline events keep it (None values included)."""
        return {"processed": self.processed, "total": self.total, "at": isoformat(self.at)}

    def event_data(self):
        """A ``heartbeat`` or ``progress`` event's data."""
        return {k: v for k, v in self.data().items() if v is not None}

    def regression_data(self):
        """A ``progress_regression`` event's data (the store adds what the run kept)."""
        data = {"reported": self.processed, "total": self.total, "at": isoformat(self.at)}
        return {k: v for k, v in data.items() if v is not None}

    def item(self):
        """This report as one item of a batch's JSON document (PostgreSQL's batch): the
        same values as ``event_data`` and ``regression_data``, the time rendered once."""
        at = isoformat(self.at)
        data, regression = {}, {}
        if self.processed is not None:
            data["processed"] = regression["reported"] = self.processed
        if self.total is not None:
            data["total"] = regression["total"] = self.total
        data["at"] = regression["at"] = at
        return {
            "run_id": self.run_id,
            "processed": self.processed,
            "total": self.total,
            "at": at[:-1],
            "data": data,
            "regression": regression,
        }

    def statement_values(self, *, now, actor, kept):
        """The single heartbeat statements' values (``hb_*``), the same on every database."""
        return {
            "hb_run_id": self.run_id,
            "hb_processed": self.processed,
            "hb_total": self.total,
            "hb_at": self.at,
            "hb_now": now,
            "hb_actor": actor,
            "hb_data": self.event_data(),
            "hb_regression_data": self.regression_data(),
            "hb_regressions_kept": kept,
        }


class RunStore:
    """Writes of runs for one database; ``run_store()`` picks the session's."""

    dialect = None

    def insert(self, values, events, at):
        """INSERT a run with ``values`` and its ``events`` ((kind, at, actor, data) each)
        and its change-feed row at ``at``; the new row."""
        raise NotImplementedError

    def compare_and_set(self, run_id, expected, values, events, at):
        """UPDATE run ``run_id`` with ``values`` only if its status is one of ``expected``,
        with its ``events`` and feed row; the written row, or None (nothing written)."""
        raise NotImplementedError

    def heartbeat(self, run, report, *, now, actor, kept):
        """Apply ``report`` to ``run`` if it is running (the high-water rules of
        ``rules.ReportRules``; ``kept`` regressions a timeline keeps), with its event and
        feed row; the written row, or None when the run is not running."""
        raise NotImplementedError

    def heartbeats(self, reports, *, now, actor, kept):
        """Apply many ``reports`` (of distinct runs) as ``heartbeat`` would, set-based:
        the ids of the runs written (those that were running); one feed row per run."""
        raise NotImplementedError

    def checked_heartbeat(self, report, *, workspace_id, now, actor, kept):
        """``heartbeat`` in one statement that also makes the API's checks on the locked
        row (the run is in ``workspace_id`` and running, ``rules.report_checks`` pass): the
        written row, or None when nothing was written, always None where the database has
        no such statement. On None the caller reads the run, checks and calls ``heartbeat``
        (the API's answer says why a report is refused)."""
        return None

    def checked_heartbeats(self, reports, *, workspace_id, now, actor, kept):
        """``checked_heartbeat`` for many ``reports`` of distinct runs, set-based: the ids
        of the runs written (none where the database has no such statement)."""
        return set()

    def close_listed(self, closures, values, policy, now):
        """UPDATE the runs of ``closures`` ({run id: (run, reason, message)}) with
        ``values`` and each its own reason and message (also as its failure message), one
        more event counted (the ``reconciled`` event the caller adds), where the reconcile
        truth of ``policy`` at ``now``, checked on the updated row itself, still holds;
        the closed ids."""
        raise NotImplementedError

    def record_changes(self, runs, at):
        """Append one change-feed row per run (anything with ``id``, ``workspace_id``,
        ``tenant_id``) and wake the live relays."""
        raise NotImplementedError

    def relation(self, name, columns, rows):
        """``rows`` (sequences in ``columns`` order, (name, type) each) as a FROM-able
        relation called ``name``: one bound parameter however many rows."""
        raise NotImplementedError

    def late_report(self, run_id, *, kind, now, actor, data, kept):
        """Count a refused report on a completed run, and keep it as a ``late_report``
        event while the timeline keeps them; its row, or None if the run is not completed
        (then nothing is written)."""
        return self.late_reports({run_id: data}, kind=kind, now=now, actor=actor, kept=kept).get(
            run_id
        )

    def late_reports(self, reports, *, kind, now, actor, kept):
        """``late_report`` for many runs at once: ``reports`` is {run id: what the report
        said}; {run id: row} of the completed ones, counted by one UPDATE, their kept
        events added by one INSERT and their feed rows by one more, whatever their number."""
        if not reports:
            return {}
        params = {"late_run_ids": sorted(reports), "late_at": now, "late_kept": kept}
        rows = db.session.execute(late_report_statement(), params)
        rows = {row.id: row for row in map(record, rows)}
        kept_rows = [row for run_id, row in sorted(rows.items()) if row.late_reports_omitted == 0]
        self.add_events(
            [
                (row.id, "late_report", now, actor, {"report": kind, **(reports[row.id] or {})})
                for row in kept_rows
            ]
        )
        if rows:
            self.record_changes([rows[run_id] for run_id in sorted(rows)], now)
        return rows

    def current(self, run_id):
        """Run ``run_id`` as it is stored now (a refused change names its status)."""
        query = sa.select(*WRITTEN).where(RUNS.c.id == sa.bindparam("run_id", type_=sa.Integer))
        return record(db.session.execute(query, {"run_id": run_id}).first())

    def add_events(self, rows):
        """Append timeline events, (run_id, kind, at, actor, data) each, in one statement."""
        if not rows:
            return
        params = [dict(zip(EVENT_COLUMNS, row, strict=True)) for row in rows]
        db.session.execute(EVENT_INSERT, [{**p, "data": p["data"] or None} for p in params])

    def add_events_at(self, rows, at):
        """Append many timeline events, (run_id, kind, actor, data) each, all at ``at``."""
        if len(rows) < BULK_ROWS:
            self.add_events([(r, k, at, a, d) for r, k, a, d in rows])
            return
        columns = ("run_id", "kind", "actor", "data")
        db.session.execute(self.insert_rows(RunEvent.__table__, columns, rows, at=at))

    def insert_rows(self, table, columns, rows, **constants):
        """The INSERT of ``rows`` into ``table`` (``constants`` fill further columns) as one
        statement over a bound relation: execute it, or use it as a CTE."""
        source = self.relation(f"new_{table.name}", [(c, table.c[c].type) for c in columns], rows)
        selected = [source.c[column] for column in columns]
        selected += [sa.literal(value, table.c[key].type) for key, value in constants.items()]
        return sa.insert(table).from_select([*columns, *constants], sa.select(*selected))


def still_due(policy, now):
    """(SQL: the updated row's reconcile time has come, the values it binds at ``now``)."""
    return fr.reconcile_due_clause(policy), fr.instant(policy, now)


def feed_rows(runs, at):
    """(run_id, workspace_id, tenant_id, at) of each run's change-feed row."""
    return [(r.id, r.workspace_id, r.tenant_id, at) for r in runs]


def record(row):
    """A written row (RETURNING ``rules.WRITTEN``, perhaps more after it) as the read
    model, a RunRead, or None."""
    return None if row is None else RunRead._make(row[:N_COLUMNS])


N_COLUMNS = len(RunRead._fields)
