"""SQLite: embedded, no round trips to save; a batch is still three statements, not 3 × n.

SQLite takes the database's write lock when a writing statement starts and keeps it to
the commit, so the statements of one change (or one batch) see no other writer between
them: a heartbeat's event INSERT ... SELECT reads the very row its UPDATE then changes.
"""

import json
from functools import lru_cache

import sqlalchemy as sa

from app.extensions import db
from app.models import RunChange
from app.operations.store.base import (
    BULK_ROWS,
    EVENT_COLUMNS,
    FEED_COLUMNS,
    RunStore,
    feed_rows,
    record,
    still_due,
)
from app.operations.store.rules import (
    EVENTS,
    RUNNING,
    RUNS,
    WRITTEN,
    ReportRules,
    actor_param,
    cas_statement,
    heartbeat_run_id,
    insert_statement,
    param,
    single_report,
)

FEED = RunChange.__table__
FEED_INSERT = sa.insert(FEED)


def stamp(at):
    """A timestamp as SQLite stores it (SQLAlchemy's text form), for a bound relation."""
    return at.strftime("%Y-%m-%d %H:%M:%S.%f")


def with_kept(document, value):
    return sa.func.json_set(document, "$.kept", value)


def _heartbeat(report, joined):
    """(event INSERT ... SELECT, UPDATE ... RETURNING) of heartbeats: ``report`` names
    the reports' values, ``joined`` picks each report's run."""
    rules = ReportRules(RUNS.c, report, with_kept)
    rows = sa.select(RUNS.c.id, rules.kind, report["at"], actor_param(), rules.data)
    rows = rows.where(*joined, RUNS.c.status == RUNNING, rules.emit).order_by(RUNS.c.id)
    event = sa.insert(EVENTS).from_select(EVENT_COLUMNS, rows)
    update = (
        sa.update(RUNS)
        .where(*joined, RUNS.c.status == RUNNING)
        .values(rules.set_values())
        .returning(*WRITTEN)
    )
    return event, update


@lru_cache(maxsize=1)
def heartbeat_statements():
    return _heartbeat(single_report(), (RUNS.c.id == heartbeat_run_id(),))


class SqliteRunStore(RunStore):
    dialect = "sqlite"

    def insert(self, values, events, at):
        return self._write(insert_statement(tuple(values)), _prefixed(values), events, at)

    def compare_and_set(self, run_id, expected, values, events, at):
        write = cas_statement(tuple(expected), tuple(sorted(values)), len(events))
        return self._write(write, {"cas_run_id": run_id, **_prefixed(values)}, events, at)

    def _write(self, write, params, events, at):
        row = record(db.session.execute(write, params).first())
        if row is None:
            return None
        if events:
            self.add_events([(row.id, k, t, a, d or None) for k, t, a, d in events])
        self.record_changes([row], at)
        return row

    def heartbeat(self, run, report, *, now, actor, kept):
        params = report.statement_values(now=now, actor=actor, kept=kept)
        event, update = heartbeat_statements()
        # Only a report with progress or a total, or a run's first heartbeat, adds an
        # event (a stored first heartbeat never goes back to NULL): skip the statement.
        if (
            report.processed is not None
            or report.total is not None
            or (run.last_heartbeat_at is None)
        ):
            db.session.execute(event, params)
        row = record(db.session.execute(update, params).first())
        if row is not None:
            self.record_changes([row], now)
        return row

    def heartbeats(self, reports, *, now, actor, kept):
        if not reports:
            return {}
        items = self.relation(
            "items",
            [
                ("run_id", sa.Integer),
                ("processed", RUNS.c.processed.type),
                ("total", RUNS.c.total.type),
                ("at", sa.Text),
                ("data", sa.JSON),
                ("regression", sa.JSON),
            ],
            [
                (r.run_id, r.processed, r.total, stamp(r.at), r.event_data(), r.regression_data())
                for r in reports
            ],
        )
        report = {
            "processed": items.c.processed,
            "total": items.c.total,
            "at": items.c.at,
            "now": param("hb_now", "last_heartbeat_at"),
            "kept": sa.bindparam("hb_regressions_kept", type_=sa.Integer),
            "data": sa.func.json(items.c.data),
            "regression": sa.func.json(items.c.regression),
        }
        event, update = _heartbeat(report, (RUNS.c.id == items.c.run_id,))
        params = {"hb_now": now, "hb_actor": actor, "hb_regressions_kept": kept}
        db.session.execute(event, params)
        rows = sorted(map(record, db.session.execute(update, params)), key=lambda row: row.id)
        if rows:
            self.record_changes(rows, now)
        return {row.id for row in rows}

    def close_listed(self, closures, values, policy, now):
        due, params = still_due(policy, now)
        values = {**values, "event_count": RUNS.c.event_count + 1}
        closing = self.relation(
            "closing",
            [
                ("id", sa.Integer),
                ("reason", RUNS.c.reconciliation_reason.type),
                ("message", sa.Text),
            ],
            [(i, reason, message) for i, (_run, reason, message) in closures.items()],
        )
        words = {
            "reconciliation_reason": closing.c.reason,
            "reconciliation_message": closing.c.message,
            "failure_message": closing.c.message,
        }
        update = sa.update(RUNS).where(RUNS.c.id == closing.c.id, due)
        update = update.values({**values, **words}).returning(RUNS.c.id)
        return db.session.scalars(update, params).all()

    def record_changes(self, runs, at):
        if len(runs) < BULK_ROWS:
            rows = [dict(zip(FEED_COLUMNS, row, strict=True)) for row in feed_rows(runs, at)]
            db.session.execute(FEED_INSERT, rows)
            return
        rows = [(r.id, r.workspace_id, r.tenant_id) for r in runs]
        db.session.execute(self.insert_rows(FEED, FEED_COLUMNS[:3], rows, at=at))

    def relation(self, name, columns, rows):
        document = sa.bindparam(f"{name}_rows", json.dumps([list(row) for row in rows]))
        each = sa.func.json_each(document).table_valued("value")

        def column(i, type_):
            return sa.type_coerce(sa.func.json_extract(each.c.value, f"$[{i}]"), type_)

        selected = [column(i, type_).label(key) for i, (key, type_) in enumerate(columns)]
        return sa.select(*selected).subquery(name)


def _prefixed(values):
    return {f"new_{key}": value for key, value in values.items()}
