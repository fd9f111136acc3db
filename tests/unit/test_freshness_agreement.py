"""The Python and SQL forms of the one truth agree for arbitrary runs, policies and instants."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.models import OperationRun, Workspace
from app.operations import freshness as fr
from app.operations.durations import seconds_between
from app.operations.insight_cells import noticed
from app.operations.policy import OperationType, Policy
from app.operations.reads.model import RunRead
from tests.conftest import T0

S = timedelta(seconds=1)
small = st.integers(min_value=1, max_value=40)
QUOTED = "o'brien"


@st.composite
def op_types(draw, name):
    q_exp, r_exp = draw(small), draw(small)
    return OperationType(
        name,
        name.title(),
        queued_expected=q_exp,
        queued_stale=q_exp + draw(st.integers(0, 40)),
        running_expected=r_exp,
        running_stale=r_exp + draw(st.integers(0, 40)),
        heartbeat_stale=draw(st.none() | small),
        progress_stale=draw(st.none() | small),
        reconcile_grace=draw(st.integers(0, 30)),
        running_min=draw(st.none() | st.integers(1, r_exp)),
    )


@st.composite
def policies(draw):
    return Policy(
        # A quote in a type name: names are rendered into the SQL as literals.
        {"a": draw(op_types("a")), QUOTED: draw(op_types(QUOTED))},
        follow_up_window=draw(st.integers(1, 100)),
    )


offset = st.integers(min_value=0, max_value=200).map(lambda s: s * S) | st.integers(
    0, 200_000_000
).map(lambda us: timedelta(microseconds=us))


@st.composite
def runs(draw):
    status = draw(st.sampled_from(["queued", "running", "completed"]))
    created = T0 + draw(offset)
    started = created + draw(offset) if status != "queued" else None
    heartbeat = draw(st.none() | offset.map(lambda o: started + o)) if started else None
    progress = draw(st.none() | offset.map(lambda o: started + o)) if started else None
    completed = (started or created) + draw(offset) if status == "completed" else None
    return dict(
        type=draw(st.sampled_from(["a", QUOTED, "unconfigured"])),
        status=status,
        outcome=draw(st.sampled_from(fr.FOLLOW_UP_OUTCOMES + ("succeeded", "cancelled")))
        if completed
        else "pending",
        created_at=created,
        started_at=started,
        last_heartbeat_at=heartbeat,
        last_progress_at=progress,
        completed_at=completed,
        reconciled_at=completed if completed and draw(st.booleans()) else None,
    )


def boundary_instants(spec, policy):
    """Every threshold instant of a run, and one second either side: where forms could differ."""
    t = policy.for_type(spec["type"])
    grace = t.reconcile_grace
    points = [(spec["created_at"], [t.queued_expected, t.queued_stale, t.queued_stale + grace])]
    if spec["started_at"]:
        points.append(
            (spec["started_at"], [t.running_expected, t.running_stale, t.running_stale + grace])
        )
        progress = spec["last_progress_at"] or spec["started_at"]
        if t.progress_stale:
            points.append((progress, [t.progress_stale, t.progress_stale + grace]))
        if t.heartbeat_stale and spec["last_heartbeat_at"]:
            hb = t.heartbeat_stale
            points.append((spec["last_heartbeat_at"], [hb, hb + grace]))
    if spec["completed_at"]:
        points.append((spec["completed_at"], [policy.follow_up_window]))
    return [
        at + (limit + delta) * S
        for at, limits in points
        for limit in limits
        for delta in (-1, 0, 1)
    ]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(policy=policies(), specs=st.lists(runs(), min_size=1, max_size=6), data=st.data())
def test_python_and_sql_agree(db, policy, specs, data):
    edges = [edge for spec in specs for edge in boundary_instants(spec, policy)]
    now = data.draw(st.sampled_from(edges) | st.integers(0, 700).map(lambda s: T0 + s * S))
    db.session.execute(sa.delete(OperationRun))
    ws = db.session.scalar(sa.select(Workspace)) or Workspace(slug="w", name="W", created_at=T0)
    db.session.add(ws)
    db.session.flush()
    rows = [OperationRun(workspace_id=ws.id, **spec) for spec in specs]
    db.session.add_all(rows)
    db.session.commit()

    query = sa.select(
        OperationRun.id,
        fr.freshness_case(policy),
        sa.case((fr.reconcile_due_clause(policy), True), else_=False),
    )
    at = fr.instant(policy, now)
    by_sql = {row[0]: tuple(row[1:]) for row in db.session.execute(query, at)}
    for run in rows:
        fresh = fr.freshness(run, policy, now)
        python = (fresh.state, fresh.reconcile_due(now))
        assert by_sql[run.id] == python, (run.__dict__, now)

    for name, clause in (
        (fr.PAST_EXPECTED, fr.past_expected_clause(policy)),
        (fr.LIKELY_STALE, fr.likely_stale_clause(policy)),
        (fr.RECONCILED_FAILED, fr.reconciled_clause()),
    ):
        ids = set(db.session.scalars(sa.select(OperationRun.id).where(clause), at))
        assert ids == {r.id for r in rows if fr.freshness(r, policy, now).state == name}
    for problem in fr.PROBLEM_CLASSES:
        ids = set(
            db.session.scalars(
                sa.select(OperationRun.id).where(fr.problem_class_clause(problem, policy)), at
            )
        )
        assert ids == {r.id for r in rows if fr.problem_class(r, policy, now) == problem}


@st.composite
def reconciled_runs(draw):
    """A run the reconciler closed: queued (never started) or running when it did."""
    created = T0 + draw(offset)
    started = draw(st.none() | offset.map(lambda o: created + o))
    heartbeat = draw(st.none() | offset.map(lambda o: started + o)) if started else None
    progress = draw(st.none() | offset.map(lambda o: started + o)) if started else None
    closed = max(filter(None, (created, started, heartbeat, progress))) + draw(offset)
    return dict(
        type=draw(st.sampled_from(["a", QUOTED, "unconfigured"])),
        status="completed",
        outcome="failed",
        created_at=created,
        started_at=started,
        last_heartbeat_at=heartbeat,
        last_progress_at=progress,
        completed_at=closed,
        reconciled_at=closed,
    )


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(policy=policies(), specs=st.lists(reconciled_runs(), min_size=1, max_size=6))
def test_when_a_reconciled_run_was_shown_stale_agrees_in_python_and_sql(db, policy, specs):
    """``stale_after_sign`` (what the insights add up in SQL) is ``noticed`` (Python):
    the seconds from the run's last sign of life to its first deadline as an active run."""
    db.session.execute(sa.delete(OperationRun))
    ws = db.session.scalar(sa.select(Workspace)) or Workspace(slug="w", name="W", created_at=T0)
    db.session.add(ws)
    db.session.flush()
    db.session.add_all([OperationRun(workspace_id=ws.id, **spec) for spec in specs])
    db.session.commit()
    closed = seconds_between(OperationRun.reconciled_at, fr.last_sign())
    query = sa.select(OperationRun.id, fr.stale_after_sign(policy), closed)
    by_sql = {row[0]: tuple(row[1:]) for row in db.session.execute(query)}
    for row in db.session.execute(sa.select(*OperationRun.__table__.c)):
        run = RunRead(*row, None, None, None)  # workspace-level runs: no tenant
        shown, after = by_sql[run.id]
        assert (shown, after) == pytest.approx(noticed(run, policy), abs=1e-6), run
