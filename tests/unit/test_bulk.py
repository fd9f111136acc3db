"""Set-based writes: a batch bound as one relation round-trips every value exactly, and a
reconciler batch closes each run with its own words, event and feed row."""

import sqlalchemy as sa

from app.models import OperationRun, RunChange, RunEvent
from app.operations.bulk import insert_rows, relation
from app.operations.closing import reconcile_runs
from app.operations.store import BULK_ROWS
from tests.conftest import T0
from tests.factories import make_run, make_tenant, make_workspace

AWKWARD = [
    "plain",
    'it\'s "quoted", with a comma',
    "ünïcødé ✓ — 東京",
    "back\\slash {brace} [bracket] $[0]",
    "line\nbreak\ttab",
    "",
    None,
]


def test_a_bound_relation_returns_every_value_as_given(app, db):
    rows = [(i, text, {"n": i, "text": text}) for i, text in enumerate(AWKWARD)]
    source = relation("probe", [("n", sa.Integer), ("text", sa.Text), ("doc", sa.JSON)], rows)

    selected = db.session.execute(sa.select(source.c.n, source.c.text).order_by(source.c.n))

    assert [tuple(row) for row in selected] == [(n, text) for n, text, _doc in rows]


def test_insert_rows_writes_each_row_with_the_constants(app, db):
    ws = make_workspace()
    runs = [make_run(ws, now=T0) for _ in range(len(AWKWARD))]
    db.session.commit()
    rows = [
        (run.id, text or "nobody", {"text": text, "run": run.id})
        for run, text in zip(runs, AWKWARD, strict=True)
    ]

    db.session.execute(
        insert_rows(RunEvent.__table__, ("run_id", "actor", "data"), rows, kind="probe", at=T0)
    )
    db.session.commit()

    events = db.session.scalars(
        sa.select(RunEvent).where(RunEvent.kind == "probe").order_by(RunEvent.run_id)
    ).all()
    assert [(e.run_id, e.actor, e.data, e.kind, e.at) for e in events] == [
        (run_id, actor, data, "probe", T0) for run_id, actor, data in rows
    ]


def test_a_large_batch_closes_each_due_run_with_its_own_words(app, db, policy):
    ws = make_workspace()
    tenant = make_tenant(ws)
    stale = [
        make_run(ws, tenant if i % 2 else None, now=T0, age=3 * 3600) for i in range(BULK_ROWS + 5)
    ]
    fresh = make_run(ws, tenant, now=T0, age=10)
    db.session.commit()
    closures = [
        (run, f"stale_reason_{i}", f"message {i}: {AWKWARD[i % len(AWKWARD)]}")
        for i, run in enumerate([*stale, fresh])
    ]

    closed = reconcile_runs(closures, policy=policy, now=T0, pass_id=7)
    db.session.commit()

    assert sorted(closed) == sorted(run.id for run in stale)
    words = {run.id: (reason, message) for run, reason, message in closures}
    for run in db.session.scalars(sa.select(OperationRun).order_by(OperationRun.id)):
        if run.id == fresh.id:
            assert (run.status, run.reconciled_at, run.reconciliation_reason) == (
                "running",
                None,
                None,
            )
            continue
        reason, message = words[run.id]
        assert (run.status, run.outcome, run.completed_at, run.reconciled_at) == (
            "completed",
            "failed",
            T0,
            T0,
        )
        assert (run.reconciliation_reason, run.reconciliation_message) == (reason, message)
        assert run.failure_message == message
    events = db.session.scalars(sa.select(RunEvent).where(RunEvent.kind == "reconciled")).all()
    assert sorted((e.run_id, e.actor, e.at) for e in events) == sorted(
        (run.id, "reconciler", T0) for run in stale
    )
    for event in events:
        reason, message = words[event.run_id]
        assert event.data == {"reason": reason, "message": message, "pass_id": 7}
    feed = db.session.execute(sa.select(RunChange.run_id, RunChange.tenant_id, RunChange.at))
    assert sorted(feed) == sorted((run.id, run.tenant_id, T0) for run in stale)
