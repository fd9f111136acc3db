"""PostgreSQL: a run change is one statement, a batch of heartbeats is one statement.

The run's INSERT or UPDATE ... RETURNING is a data-modifying CTE; its timeline events and
its change-feed row are CTEs reading the written row, and the statement wakes the live
relays (NOTIFY, delivered on commit). A worker's report is then one round trip besides its
reads.

The NOTIFY has no payload. A relay woken by it re-reads the change feed from its cursor
(which is what makes a lost connection lose nothing), so a payload would be a second,
partial account of the same change that nobody may rely on; without one, PostgreSQL folds
the notifications of one transaction into one.
"""

import json

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from app.extensions import db
from app.operations.store.base import (
    FEED_COLUMNS,
    RunStore,
    feed_rows,
    record,
    still_due,
)
from app.operations.store.pg_statements import (
    FEED,
    NOTIFY_CHANNEL,
    events_write_statement,
    heartbeat_statement,
    heartbeats_statement,
    wake,
)
from app.operations.store.rules import RUNS, cas_statement, insert_statement

# The statements live in pg_statements; named here too, as this store's.
__all__ = [
    "NOTIFY_CHANNEL",
    "PostgresRunStore",
    "events_write_statement",
    "heartbeat_statement",
    "heartbeats_statement",
]

FEED_ONE = sa.insert(FEED).values(
    {name: sa.bindparam(name, type_=FEED.c[name].type) for name in FEED_COLUMNS}
)


def _waking(feed):
    """``feed`` (a change-feed INSERT) and, if it wrote a row, the wake-up: one statement."""
    inserted = feed.returning(FEED.c.id).cte("inserted")
    return sa.select(wake()).where(sa.exists(sa.select(inserted.c.id)))


class PostgresRunStore(RunStore):
    dialect = "postgresql"

    def insert(self, values, events, at):
        write = insert_statement(tuple(values))
        return self._write(write, _prefixed(values), events, at)

    def compare_and_set(self, run_id, expected, values, events, at):
        write = cas_statement(tuple(expected), tuple(sorted(values)), len(events))
        return self._write(write, {"cas_run_id": run_id, **_prefixed(values)}, events, at)

    def _write(self, write, params, events, at):
        values = {**params, "changed_at": at}
        for i, (kind, when, actor, data) in enumerate(events):
            values.update({f"ev{i}_kind": kind, f"ev{i}_at": when, f"ev{i}_actor": actor})
            values[f"ev{i}_data"] = data or None
        statement = events_write_statement(write, len(events))
        return record(db.session.execute(statement, values).first())

    def heartbeat(self, run, report, *, now, actor, kept):
        return self.checked_heartbeat(report, workspace_id=None, now=now, actor=actor, kept=kept)

    def checked_heartbeat(self, report, *, workspace_id, now, actor, kept):
        # workspace_id None: the unchecked statement (the caller has read and checked).
        params = report.statement_values(now=now, actor=actor, kept=kept)
        params.update(changed_at=now, hb_workspace_id=workspace_id)
        statement = heartbeat_statement(workspace_id is not None)
        return record(db.session.execute(statement, params).first())

    def heartbeats(self, reports, *, now, actor, kept):
        return self.checked_heartbeats(reports, workspace_id=None, now=now, actor=actor, kept=kept)

    def checked_heartbeats(self, reports, *, workspace_id, now, actor, kept):
        if not reports:
            return set()
        params = {
            "items": json.dumps([report.item() for report in reports]),
            "item_ids": "{" + ",".join(str(r.run_id) for r in reports) + "}",
            "hb_now": now,
            "hb_actor": actor,
            "hb_regressions_kept": kept,
            "hb_workspace_id": workspace_id,
            "changed_at": now,
        }
        statement = heartbeats_statement(workspace_id is not None)
        return set(db.session.execute(statement, params).scalars())

    def close_listed(self, closures, values, policy, now):
        due, params = still_due(policy, now)
        values = {**values, "event_count": RUNS.c.event_count + 1}
        # The listed runs by id, each run's words looked up in one JSON document: a join
        # can be planned as a rescan of the whole list per due run when statistics
        # underestimate a fresh backlog (12 s for 10k runs), and the due check must stay
        # on the updated row itself so that a concurrent pass re-checks the row it waited
        # for. The id range as well: an index range scan whatever the statistics say.
        # The ids travel as one array literal ('{1,2,3}'), not an IN list of one parameter
        # each: the statement's text is the same for every batch, so psycopg parses it once
        # and the server prepares it (500 placeholders made it 16 KiB, parsed and planned
        # again for every batch).
        document = {str(i): [reason, message] for i, (_run, reason, message) in closures.items()}
        doc = sa.cast(sa.bindparam("words", json.dumps(document)), postgresql.JSONB)
        words = sa.select(doc.label("doc")).cte("words").prefix_with("MATERIALIZED")

        def word(index):
            entry = words.c.doc.op("->")(sa.cast(RUNS.c.id, sa.Text))
            return sa.select(entry.op("->>")(index)).scalar_subquery()

        ids = sa.cast(sa.bindparam("closing_ids", type_=sa.Text), postgresql.ARRAY(sa.Integer))
        params = {**params, "closing_ids": "{" + ",".join(str(int(i)) for i in closures) + "}"}
        listed = (RUNS.c.id == sa.func.any(ids), RUNS.c.id.between(min(closures), max(closures)))
        words_set = {
            "reconciliation_reason": word(0),
            "reconciliation_message": word(1),
            "failure_message": word(1),
        }
        update = sa.update(RUNS).where(*listed, due).values({**values, **words_set})
        return db.session.scalars(update.returning(RUNS.c.id), params).all()

    def record_changes(self, runs, at):
        if len(runs) == 1:
            (row,) = feed_rows(runs, at)
            statement, params = FEED_ONE, dict(zip(FEED_COLUMNS, row, strict=True))
        else:
            rows = [(r.id, r.workspace_id, r.tenant_id) for r in runs]
            statement, params = self.insert_rows(FEED, FEED_COLUMNS[:3], rows, at=at), {}
        db.session.execute(_waking(statement), params)

    def relation(self, name, columns, rows):
        # One JSON document, expanded by the database: the statement's text does not grow
        # with the batch, so it is compiled and prepared once.
        document = sa.bindparam(f"{name}_rows", json.dumps([list(row) for row in rows]))
        each = sa.func.json_array_elements(sa.cast(document, postgresql.JSON)).table_valued("value")

        def column(i, type_):
            if isinstance(type_, sa.JSON):
                return sa.type_coerce(each.c.value.op("->")(i), type_)
            return sa.cast(each.c.value.op("->>")(i), type_)

        selected = [column(i, type_).label(key) for i, (key, type_) in enumerate(columns)]
        return sa.select(*selected).subquery(name)


def _prefixed(values):
    return {f"new_{key}": value for key, value in values.items()}
