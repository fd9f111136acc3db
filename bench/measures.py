"""The measured requests: each page, the API, ingestion throughput and reconciler passes."""

import time
from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import OperationRun, Tenant, User
from app.operations import get_policy
from app.operations.clock import now
from app.operations.freshness import instant
from app.operations.queries import encode_cursor
from app.operations.reads.lists import tab_clause
from bench import generate
from bench.timeline import measure_long_timeline, token_headers

WARM_UP = 3


def _timed(client, path, n, headers=None):
    for _ in range(WARM_UP):
        _get(client, path, headers)
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        _get(client, path, headers)
        samples.append((time.perf_counter() - started) * 1000)
    from bench.__main__ import summarize

    return summarize(samples)


def _get(client, path, headers=None):
    response = client.get(path, headers=headers or {})
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} answered {response.status_code}")
    return response


def _login(client, user):
    from app.operations.sessions import start_session

    sid = start_session(user, now())
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["_fresh"] = True
        session["sid"] = sid


def page_paths(ws):
    """(measure name, path) for every page, on the busiest tenant."""
    tenant = db.session.scalar(sa.select(Tenant).where(Tenant.workspace_id == ws.id).limit(1))
    newest = db.session.scalar(sa.select(OperationRun).order_by(OperationRun.id.desc()).limit(1))
    generate.add_events([newest.id], now())
    paths = [
        ("workspace_overview", "/admin"),
        ("tenant_dashboard", f"/admin/t/{tenant.uuid}"),
        ("overlay_frame", f"/admin/t/{tenant.uuid}/active-operations"),
    ]
    for tab in ("all", "active", "active_stale_attention", "terminal_follow_up"):
        paths.append((f"list_{tab}_first", f"/admin/operations?activeTab={tab}"))
        deep = encode_cursor(_middle_of(tab))
        paths.append((f"list_{tab}_deep", f"/admin/operations?activeTab={tab}&cursor={deep}"))
    paths.append(("list_tenant_filtered", f"/admin/operations?tenant_id={tenant.id}"))
    paths.append(("detail", f"/admin/operations/{newest.id}"))
    return paths


SEARCH_TARGET_P95_MS = 25  # the list page's target, with a search or a range too


def search_paths(ws):
    """(measure, path) of the list page's search and range measures: by id, by a common
    and a rarer text, by text found nowhere, the time ranges, both combined, and the
    duration order."""
    middle = db.session.scalar(
        sa.select(OperationRun.id).order_by(OperationRun.id).offset(500_000).limit(1)
    ) or db.session.scalar(sa.select(sa.func.max(OperationRun.id)))
    start = ws.created_at - timedelta(days=30)
    base = "/admin/operations?"
    custom = (
        f"from={start.isoformat(timespec='minutes')}"
        f"&to={(start + timedelta(hours=1)).isoformat(timespec='minutes')}"
    )
    return [
        ("list_search_id", f"{base}q=%23{middle}"),
        ("list_search_common_text", f"{base}q=alice"),
        ("list_search_rarer_text", f"{base}q=worker+reported"),
        ("list_search_absent_text", f"{base}q=no-such-text-anywhere"),
        ("list_range_1h", f"{base}range=1h"),
        ("list_range_7d", f"{base}range=7d"),
        ("list_range_custom_hour_30d_ago", f"{base}{custom}"),
        ("list_range_custom_hour_in_a_zone", f"{base}{custom}&tz=America/New_York"),
        ("list_search_and_range", f"{base}q=alice&range=7d"),
        ("list_sort_duration_24h", f"{base}sort=duration"),
    ]


def _middle_of(tab):
    """The run halfway down a tab: a deep page an operator can actually reach."""
    where, params = tab_clause(tab, get_policy()), instant(get_policy(), now())
    count = sa.select(sa.func.count()).select_from(OperationRun).where(where)
    total = db.session.scalar(count, params)
    return db.session.scalar(
        sa.select(OperationRun)
        .where(where)
        .order_by(OperationRun.created_at.desc(), OperationRun.id.desc())
        .offset(total // 2)
        .limit(1),
        params,
    )


def measure_all(app, ws, n):
    """Every measure: {name: {p50_ms, p95_ms, n}} or {name: {per_s, n}}."""
    client = app.test_client()
    owner = db.session.scalar(sa.select(User).where(User.email == "owner@bench.test"))
    _login(client, owner)
    results = {}
    for name, path in page_paths(ws) + search_paths(ws):
        results[name] = _timed(client, path, n)
        print(f"  {name:<32} p95 {results[name]['p95_ms']:.2f} ms")
    high_water = db.session.scalar(sa.select(sa.func.max(OperationRun.id)))
    try:
        results.update(measure_long_timeline(app, ws, n, client, token_headers(ws)))
        results.update(measure_api(app, ws, n))
        results.update(measure_reconciler(app, n))
    finally:
        _remove_runs_after(high_water)
    return results


def _remove_runs_after(high_water):
    """Put the data set back to its generated size so the next run can reuse it."""
    from app.models import ApiToken, ReconcilerPass, RunChange, RunEvent

    db.session.rollback()
    for model in (RunEvent, RunChange):
        db.session.execute(sa.delete(model).where(model.run_id > high_water))
    db.session.execute(sa.delete(OperationRun).where(OperationRun.id > high_water))
    db.session.execute(sa.delete(ApiToken))
    db.session.execute(sa.delete(ReconcilerPass))
    db.session.commit()


# Report calls are limited per token (API_REPORT_LIMIT, 50/s by default): one process
# here makes 300-700 calls/s, so each create + heartbeat + complete uses the next of
# these tokens, as a fleet of workers would (up to 3,200 calls/s under the default).
INGEST_TOKENS = 64


def measure_api(app, ws, n):
    """API list latency and create + heartbeat + complete throughput."""
    from app.operations.tokens import create_token

    secrets = [create_token(ws, f"bench-{i}", now=now()).secret for i in range(INGEST_TOKENS)]
    tokens = [{"Authorization": f"Bearer {secret}"} for secret in secrets]
    client = app.test_client()
    results = {"api_list": _timed(client, "/api/v1/runs?limit=50", n, tokens[0])}
    tenant = db.session.scalar(sa.select(Tenant).where(Tenant.workspace_id == ws.id).limit(1))
    calls, started = 0, time.perf_counter()
    for i in range(max(n, 100)):
        headers = tokens[i % len(tokens)]
        created = client.post(
            "/api/v1/runs",
            json={"type": "baseline_compare", "tenant": tenant.slug, "status": "running"},
            headers=headers,
        )
        run_id = created.get_json()["id"]
        client.post(f"/api/v1/runs/{run_id}/heartbeat", json={"processed": 5}, headers=headers)
        done = client.post(
            f"/api/v1/runs/{run_id}/complete", json={"outcome": "succeeded"}, headers=headers
        )
        if done.status_code != 200:
            raise RuntimeError(f"complete answered {done.status_code}")
        calls += 3
    elapsed = time.perf_counter() - started
    results["api_ingest_throughput"] = {"per_s": round(calls / elapsed, 1), "n": calls}
    return results


def measure_reconciler(app, n):
    """An empty pass over the whole table, then a pass closing 10k stale runs."""
    from reconciler.reconcile import run_pass

    run_pass(holder="bench")  # closes what the generated data already has due: not timed
    samples = []
    for _ in range(max(10, n)):
        started = time.perf_counter()
        run_pass(holder="bench")
        samples.append((time.perf_counter() - started) * 1000)
    from bench.__main__ import summarize

    results = {"reconcile_empty_pass": summarize(samples)}
    _insert_stale(10_000)
    started = time.perf_counter()
    summary = run_pass(holder="bench")
    elapsed = (time.perf_counter() - started) * 1000
    results["reconcile_10k_stale"] = {
        "p50_ms": round(elapsed, 1),
        "p95_ms": round(elapsed, 1),
        "n": 1,
        "reconciled": summary.reconciled,
    }
    return results


def _insert_stale(count):
    at = now() - timedelta(days=2)
    rows = [
        dict(
            workspace_id=1,
            tenant_id=None,
            type="baseline_compare",
            status="running",
            outcome="pending",
            created_at=at,
            started_at=at,
            last_heartbeat_at=at,
        )
        for _ in range(count)
    ]
    db.session.execute(sa.insert(OperationRun), rows)
    db.session.commit()
