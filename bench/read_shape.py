"""What the one run shape costs a read: ``python -m bench.read_shape``.

Every read of ``RunReads`` returns runs with their tenant's uuid, slug and name, joined
outside the statement that picks the runs. This times, interleaved round by round, each
list and widget statement alone (the runs only, as reads were before) against the same
statement with the tenant join, on the data set of ``make bench`` (same generator, reuse
rules, ``RUNS`` and ``DATABASE_URL``), for the owner's scope. ``BENCH_REQUESTS`` rounds
(default 60). Writes ``bench/results/read-shape-<db>.json``.
"""

import os
import time

import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.models import OperationRun, Tenant, User
from app.operations import freshness as fr
from app.operations import get_policy
from app.operations.clock import FrozenClock, SystemClock
from app.operations.queries import TABS, RunFilters
from app.operations.reads import lists, widgets
from app.operations.reads.binds import bound, shape_of
from app.operations.visibility import scope_for_user
from bench.__main__ import BenchConfig, cpu_reference_ms, default_url, prepare, summarize
from bench.reporting import write_report


def _runs_only(joined):
    """The statement that picks the runs, inside a read-model statement."""
    return joined.get_final_froms()[0].left.element


def statements(policy, shape, tenant_id):
    """(name, read-model statement, its values) for each list tab and the widgets."""
    found = []
    for tab in TABS:
        query = lists.page_query(
            policy, shape, tab, lists.filter_shape(RunFilters()), "created", False, False, 51
        )
        found.append((f"list_{tab}", query, {}))
    tenant = RunFilters(tenant_id=tenant_id)
    query = lists.page_query(
        policy, shape, "all", lists.filter_shape(tenant), "created", False, False, 51
    )
    found.append(("list_tenant", query, lists.filter_values(tenant)))
    found.append(("overlay", widgets.overlay_query(policy, shape, 8), {"tenant_id": tenant_id}))
    stale, follow = widgets.attention_queries(policy, shape, 5)
    found.append(("attention_stale", stale, {"tenant_id": tenant_id}))
    found.append(("attention_follow_up", follow, {"tenant_id": tenant_id}))
    return found


def _time(query, values):
    started = time.perf_counter()
    db.session.execute(query, values).all()
    return (time.perf_counter() - started) * 1000


def measure(scope, policy, now, rounds):
    """{name: {"runs_only": summary, "with_tenant": summary}}."""
    tenant_id = db.session.scalar(
        sa.select(OperationRun.tenant_id)
        .where(OperationRun.workspace_id == scope.workspace_id, fr.active_clause())
        .where(OperationRun.tenant_id.is_not(None))
        .limit(1)
    )
    base = {**bound(scope, policy, now), "sort_now": now}
    results = {}
    for name, joined, values in statements(policy, shape_of(scope), tenant_id):
        alone, values = _runs_only(joined), {**base, **values}
        samples = {"runs_only": [], "with_tenant": []}
        for _ in range(3):
            _time(alone, values), _time(joined, values)
        for _ in range(rounds):
            samples["runs_only"].append(_time(alone, values))
            samples["with_tenant"].append(_time(joined, values))
        results[name] = {kind: summarize(ms) for kind, ms in samples.items()}
        a, b = results[name]["runs_only"], results[name]["with_tenant"]
        print(f"  {name:<24} p95 runs only {a['p95_ms']:7.2f}  with tenant {b['p95_ms']:7.2f} ms")
    return results


def main():
    runs = int(os.environ.get("RUNS", 1_000_000))
    rounds = int(os.environ.get("BENCH_REQUESTS", 60))
    url = os.environ.get("DATABASE_URL") or default_url(runs)
    clock = FrozenClock(SystemClock().now())
    app = create_app(BenchConfig(url), clock=clock)
    with app.app_context():
        ws = prepare(runs)
        clock.set(ws.created_at)
        owner = db.session.scalar(sa.select(User).where(User.email == "owner@bench.test"))
        scope = scope_for_user(owner, ws.id)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Tenant)) > 0
        before = cpu_reference_ms()
        results = measure(scope, get_policy(), ws.created_at, rounds)
        write_report("read-shape", runs, before, results)


if __name__ == "__main__":
    main()
