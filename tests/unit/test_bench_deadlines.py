"""``python -m bench.deadlines`` on a small SQLite data set: every measure is taken for both
designs, and the stored design's plan is the plan the one truth computes (the comparison
is between two ways to the same answer). Figures are not judged here."""

import json

import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.models import Workspace
from app.operations import get_policy
from app.operations.clock import FrozenClock, SystemClock
from app.operations.reads import RunReads
from app.operations.visibility import Scope
from bench import deadlines
from bench.__main__ import BenchConfig, prepare

RUNS = 3000


def test_both_designs_are_measured_and_plan_the_same_changes(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    out = tmp_path / "report.json"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("BENCH_OUT", str(out))
    monkeypatch.setenv("BENCH_REQUESTS", "2")
    clock = FrozenClock(SystemClock().now())
    app = create_app(BenchConfig(url), clock=clock)
    with app.app_context():
        prepare(RUNS)
        db.session.remove()
    deadlines.main()

    report = json.loads(out.read_text())
    assert set(report["results"]) == {"candidates", "any_due", "plan"}
    for measure in report["results"].values():
        assert measure["today"]["n"] == measure["stored"]["n"] == 2
    with app.app_context():
        ws = db.session.scalar(sa.select(Workspace).where(Workspace.slug == "bench"))
        policy = get_policy()
        reads = RunReads(Scope(ws.id, "owner", None), policy, ws.created_at)
        truth, complete = reads.transitions()
        assert complete and truth
        assert sorted(deadlines.stored_plan(ws.id, ws.created_at)) == sorted(truth)
