"""Each run keeps its longest heartbeat and progress gaps, written by the report itself."""

from datetime import timedelta

import sqlalchemy as sa

from app.models import OperationRun
from app.operations.lifecycle import complete_run, create_run, heartbeat
from tests.conftest import T0
from tests.factories import make_workspace

US = timedelta(microseconds=1)


def _running(db, started=T0):
    workspace = make_workspace()
    run = create_run(
        workspace_id=workspace.id,
        tenant_id=None,
        type="inventory_sync",
        now=started,
        actor="w",
        status="running",
    )
    return run


def _stored(db, run):
    db.session.expire_all()
    return db.session.get(OperationRun, run.id)


def test_a_new_run_starts_with_no_gap(db):
    run = _stored(db, _running(db))
    assert (run.heartbeat_gap_max, run.progress_gap_max) == (0, 0)


def test_heartbeat_gaps_keep_the_longest_to_the_microsecond(db):
    run = _running(db)
    for at in (T0 + timedelta(seconds=10), T0 + timedelta(seconds=310, microseconds=999999)):
        heartbeat(run, now=at, actor="w")
    heartbeat(run, now=T0 + timedelta(seconds=400), actor="w")  # a shorter gap changes nothing
    stored = _stored(db, run)
    # The first heartbeat has no gap before it (the heartbeat rule starts with it).
    assert stored.heartbeat_gap_max == 300.999999
    assert stored.progress_gap_max == 0


def test_an_earlier_report_arriving_late_is_no_gap(db):
    run = _running(db)
    heartbeat(run, now=T0 + timedelta(seconds=100), actor="w")
    heartbeat(run, now=T0 + timedelta(seconds=120), actor="w", at=T0 + timedelta(seconds=5))
    assert _stored(db, run).heartbeat_gap_max == 0


def test_progress_gap_counts_from_the_start_and_only_steps_that_grow(db):
    run = _running(db)
    heartbeat(run, now=T0 + timedelta(seconds=50), actor="w", processed=1)
    heartbeat(run, now=T0 + timedelta(seconds=500), actor="w", processed=1)  # no step
    heartbeat(run, now=T0 + timedelta(seconds=520), actor="w", processed=0)  # regression
    heartbeat(run, now=T0 + timedelta(seconds=530), actor="w", processed=2)
    stored = _stored(db, run)
    assert stored.progress_gap_max == 480
    assert stored.heartbeat_gap_max == 450


def test_completion_ends_the_last_silences(db):
    run = _running(db)
    heartbeat(run, now=T0 + timedelta(seconds=10), actor="w", processed=5)
    complete_run(run, outcome="succeeded", now=T0 + timedelta(seconds=1000) - US, actor="w")
    stored = _stored(db, run)
    assert stored.heartbeat_gap_max == stored.progress_gap_max == 990 - 0.000001


def test_a_queued_run_completed_has_no_gaps(db):
    workspace = make_workspace()
    run = create_run(
        workspace_id=workspace.id, tenant_id=None, type="inventory_sync", now=T0, actor="w"
    )
    complete_run(run, outcome="cancelled", now=T0 + timedelta(hours=5), actor="w")
    stored = _stored(db, run)
    assert (stored.heartbeat_gap_max, stored.progress_gap_max) == (0, 0)


def test_a_run_older_than_the_columns_keeps_unknown_gaps(db):
    run = _running(db)
    db.session.execute(
        sa.update(OperationRun)
        .where(OperationRun.id == run.id)
        .values(heartbeat_gap_max=None, progress_gap_max=None)
    )
    db.session.commit()
    heartbeat(run, now=T0 + timedelta(seconds=10), actor="w", processed=1)
    heartbeat(run, now=T0 + timedelta(seconds=900), actor="w", processed=2)
    complete_run(run, outcome="succeeded", now=T0 + timedelta(seconds=2000), actor="w")
    stored = _stored(db, run)
    assert (stored.heartbeat_gap_max, stored.progress_gap_max) == (None, None)
