"""PostgreSQL's write statements: a run change, one heartbeat and a batch of them are each
one statement (see ``store.postgresql``), built once per shape."""

from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from app.models import RunChange
from app.operations.store.base import EVENT_COLUMNS, FEED_COLUMNS
from app.operations.store.rules import (
    EVENTS,
    RUNNING,
    RUNS,
    WRITTEN,
    ReportRules,
    actor_param,
    heartbeat_run_id,
    report_checks,
    single_report,
)

NOTIFY_CHANNEL = "runwarden_runs"
FEED = RunChange.__table__
CHANGED_AT = sa.bindparam("changed_at", type_=FEED.c.at.type)
# The columns of the row before a heartbeat that its rules read.
OLD_COLUMNS = (
    "id",
    "processed",
    "last_heartbeat_at",
    "progress_regressions",
    "progress_regressions_omitted",
    "status",
    "last_progress_at",
    "started_at",
    "total",
)
WORKSPACE = sa.bindparam("hb_workspace_id", type_=sa.Integer, required=True)


def wake():
    """The NOTIFY that wakes every relay once this transaction commits."""
    return sa.func.pg_notify(NOTIFY_CHANNEL, "")


def with_kept(document, value):
    """The JSON ``document`` with ``kept`` set to ``value``."""
    merged = sa.cast(document, postgresql.JSONB).op("||")(sa.func.jsonb_build_object("kept", value))
    return sa.cast(merged, sa.JSON)


def write_with_trail(write, events, ids_only=False):
    """``write`` (returning the run) with its events (``events(run_cte)``, an INSERT, or
    None) and its change-feed rows as CTEs: selects the written rows (only their ids when
    ``ids_only``), waking the relays once if there is any."""
    run = write.cte("run")
    trail = [] if events is None else [events(run).cte("events")]
    feed = sa.select(run.c.id, run.c.workspace_id, run.c.tenant_id, CHANGED_AT)
    trail.append(sa.insert(FEED).from_select(FEED_COLUMNS, feed.order_by(run.c.id)).cte("feed"))
    woken = sa.select(wake()).scalar_subquery().label("woken")
    columns = [run.c.id] if ids_only else [c for c in run.c if not c.key.startswith("ev_")]
    return sa.select(*columns, woken).add_cte(*trail)


def _given_event(run, i):
    """The ``i``-th event given as parameters, as a one-row SELECT from the run."""
    values = [
        sa.bindparam(f"ev{i}_{name}", type_=EVENTS.c[name].type).label(name)
        for name in ("kind", "at", "actor", "data")
    ]
    return sa.select(run.c.id.label("run_id"), *values, sa.literal(i).label("n"))


@lru_cache(maxsize=64)
def events_write_statement(write, n_events):
    """``write`` with ``n_events`` events given as parameters, plus the feed."""
    if not n_events:
        return write_with_trail(write, None)

    def events(run):
        # One INSERT in the given order: sibling CTEs run in no defined order, and the
        # timeline breaks ties of equal times by event id.
        rows = sa.union_all(*(_given_event(run, i) for i in range(n_events))).subquery()
        ordered = sa.select(*(rows.c[name] for name in EVENT_COLUMNS)).order_by(rows.c.n)
        return sa.insert(EVENTS).from_select(EVENT_COLUMNS, ordered)

    return write_with_trail(write, events)


def _decided_events(run):
    """The INSERT of the events a heartbeat UPDATE decided (its ``ev_`` columns)."""
    rows = sa.select(run.c.id, run.c.ev_kind, run.c.ev_at, actor_param(), run.c.ev_data)
    ordered = rows.where(run.c.ev_emit).order_by(run.c.id)
    return sa.insert(EVENTS).from_select(EVENT_COLUMNS, ordered)


def _locked(where, items=None):
    """The runs' rows before the report (with the batch's ``items`` joined, their columns
    as ``item_<name>``), locked in id order: two batches over the same runs never
    deadlock, and a report that waited for another sees the row that one wrote."""
    columns = [RUNS.c[name] for name in OLD_COLUMNS]
    query = sa.select(*columns).where(where)
    if items is not None:
        query = query.add_columns(*(c.label(f"item_{c.key}") for c in items.c))
        query = query.where(RUNS.c.id == items.c.run_id)
    query = query.order_by(RUNS.c.id).with_for_update(of=RUNS)
    return query.cte("old").prefix_with("MATERIALIZED")


def _heartbeat_update(old, report, listed, returned=WRITTEN, checked=False):
    """The UPDATE of the runs ``listed`` (SQL on the runs table, so the planner reads them
    by primary key) that ``old`` locked and found running (and, when ``checked``, whose
    report passes the API's checks), returning the ``returned`` columns and the event it
    decided."""
    rules = ReportRules(old.c, report, with_kept)
    checks = report_checks(old.c, report) if checked else ()
    return (
        sa.update(RUNS)
        .where(listed, RUNS.c.id == old.c.id, old.c.status == RUNNING, *checks)
        .values(rules.set_values())
        .returning(
            *returned,
            rules.emit.label("ev_emit"),
            rules.kind.label("ev_kind"),
            rules.data.label("ev_data"),
            report["at"].label("ev_at"),
        )
    )


def _in_workspace(listed, checked):
    return sa.and_(listed, RUNS.c.workspace_id == WORKSPACE) if checked else listed


@lru_cache(maxsize=2)
def heartbeat_statement(checked=False):
    """One heartbeat: the run locked, the high-water UPDATE, its event and feed row; when
    ``checked``, only a run of ``:hb_workspace_id`` whose report passes the API's checks."""
    listed = RUNS.c.id == heartbeat_run_id()
    old = _locked(_in_workspace(listed, checked))
    update = _heartbeat_update(old, single_report(), listed, checked=checked)
    return write_with_trail(update, _decided_events)


ITEM_TYPES = (
    ("run_id", sa.Integer),
    ("processed", sa.BigInteger),
    ("total", sa.BigInteger),
    ("at", sa.DateTime),
    ("data", postgresql.JSON),
    ("regression", postgresql.JSON),
)


@lru_cache(maxsize=2)
def heartbeats_statement(checked=False):
    """Many heartbeats: the items as one JSON document read by ``json_to_recordset`` and
    their ids as one array (two text parameters whatever the batch's size, where psycopg
    dumped six arrays item by item) joined to their runs, locked in id order; one UPDATE
    ... FROM that, the decided events, the feed rows, one wake-up; selects the ids written.
    When ``checked``, only runs of ``:hb_workspace_id`` whose report passes the API's
    checks are written."""
    document = sa.bindparam("items", type_=sa.Text)
    items = (
        sa.func.json_to_recordset(sa.cast(document, postgresql.JSON))
        .table_valued(*(sa.column(name, type_) for name, type_ in ITEM_TYPES))
        .render_derived(name="items", with_types=True)
    )
    # The ids again as an array literal ('{1,2,3}'), for the runs' primary key.
    ids = sa.cast(sa.bindparam("item_ids", type_=sa.Text), postgresql.ARRAY(sa.Integer))
    listed = RUNS.c.id == sa.func.any(ids)
    old = _locked(_in_workspace(listed, checked), items)
    report = {
        "processed": old.c.item_processed,
        "total": old.c.item_total,
        "at": old.c.item_at,
        "now": sa.bindparam("hb_now", type_=RUNS.c.last_heartbeat_at.type),
        "kept": sa.bindparam("hb_regressions_kept", type_=sa.Integer),
        "data": sa.type_coerce(old.c.item_data, sa.JSON),
        "regression": sa.type_coerce(old.c.item_regression, sa.JSON),
    }
    returned = (RUNS.c.id, RUNS.c.workspace_id, RUNS.c.tenant_id)  # what the trail reads
    update = _heartbeat_update(old, report, listed, returned, checked)
    return write_with_trail(update, _decided_events, ids_only=True)
