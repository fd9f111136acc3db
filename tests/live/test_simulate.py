"""`flask demo simulate`: workers that start, report, finish and sometimes go silent."""

import json
import random

import sqlalchemy as sa

from app.commands.simulate import Simulator
from app.models import OperationRun, RunChange, RunEvent
from app.operations import freshness as fr
from tests.factories import make_tenant, make_workspace


def test_the_simulator_drives_runs_through_the_lifecycle(app, db, clock, policy):
    ws = make_workspace()
    tenants = [make_tenant(ws), make_tenant(ws)]
    sim = Simulator(
        ws.id, [t.id for t in tenants], policy, random.Random(3), concurrency=5, silent_ratio=0.4
    )

    for _ in range(900):
        sim.step(clock.advance(2))

    counts = sim.counts
    assert counts["created"] >= 10
    assert counts["started"] >= 5 and counts["heartbeats"] >= 10
    assert sum(v for k, v in counts.items() if k.startswith("completed_")) >= 5
    assert counts["went_silent"] >= 1
    runs = db.session.scalars(sa.select(OperationRun)).all()
    assert {run.workspace_id for run in runs} == {ws.id}
    changes = db.session.scalar(sa.select(sa.func.count()).select_from(RunChange))
    events = db.session.scalar(sa.select(sa.func.count()).select_from(RunEvent))
    assert changes >= len(runs) and events >= len(runs)
    states = {fr.freshness(run, policy, clock.now()).state for run in runs}
    assert fr.LIKELY_STALE in states, "silent runs turn stale as time passes"


def test_the_command_prints_one_json_summary(app, db):
    ws = make_workspace(slug="demo-ws")
    make_tenant(ws)
    result = app.test_cli_runner().invoke(
        args=[
            "demo",
            "simulate",
            "--workspace",
            "demo-ws",
            "--steps",
            "5",
            "--tick",
            "0",
            "--seed",
            "1",
        ]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["workspace"] == "demo-ws" and summary["steps"] == 5


def test_an_unknown_workspace_is_a_json_error(app, db):
    result = app.test_cli_runner().invoke(args=["demo", "simulate", "--workspace", "nope"])
    assert result.exit_code == 1
    assert "no such workspace" in json.loads(result.output)["error"]
