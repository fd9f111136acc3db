"""Happy paths of every API endpoint and the run JSON."""

from datetime import timedelta

from tests.conftest import T0, iso, kinds
from tests.factories import make_run

RUN_KEYS = {
    "id",
    "workspace_id",
    "tenant",
    "type",
    "type_label",
    "status",
    "outcome",
    "created_at",
    "started_at",
    "completed_at",
    "last_heartbeat_at",
    "last_progress_at",
    "processed",
    "total",
    "initiator",
    "context",
    "failure_message",
    "reconciled_at",
    "reconciliation_reason",
    "reconciliation_message",
    "freshness",
    "problem_class",
    "stale_reason",
    "stale_since",
    "reconcile_at",
    "next_transition_at",
    "badge",
    "guidance",
}


def test_create_queued_run_with_tenant(api, db, tenant, workspace):
    response = api.post(
        "/api/v1/runs",
        json={
            "type": "inventory_sync",
            "tenant": tenant.uuid,
            "initiator": "scheduler",
            "total": 40,
            "context": {"batch": 3, "tags": ["a", "b"]},
        },
    )
    assert response.status_code == 201
    run = response.get_json()
    assert set(run) == RUN_KEYS
    assert response.headers["Location"] == f"/api/v1/runs/{run['id']}"
    assert run["tenant"] == {
        "id": tenant.id,
        "uuid": tenant.uuid,
        "slug": "contoso",
        "name": "Contoso",
    }
    assert run["workspace_id"] == workspace.id
    assert (run["status"], run["outcome"], run["freshness"]) == ("queued", "pending", "fresh")
    assert run["type_label"] == "Inventory sync"
    assert run["created_at"] == iso(T0) and run["started_at"] is None
    assert run["context"] == {"batch": 3, "tags": ["a", "b"]}
    assert run["next_transition_at"] == "2026-11-26T12:02:00.000001Z"
    assert kinds(db, run["id"]) == ["created"]


def test_create_running_run_by_slug_with_backfilled_times(api, db, tenant):
    response = api.post(
        "/api/v1/runs",
        json={
            "type": "baseline_compare",
            "tenant": "contoso",
            "status": "running",
            "created_at": "2026-11-26T13:00:00+02:00",
            "started_at": "2026-11-26T11:20:00",
        },
    )
    assert response.status_code == 201
    run = response.get_json()
    assert run["created_at"] == iso(T0 - timedelta(hours=1))
    assert run["started_at"] == iso(T0 - timedelta(minutes=40))
    assert run["freshness"] == "likely_stale"
    assert run["stale_reason"] == "lifecycle_exceeded"
    assert run["problem_class"] == "active_stale_attention"
    assert run["stale_since"] == iso(T0 - timedelta(minutes=10))
    assert run["reconcile_at"] == iso(T0 + timedelta(minutes=20))
    assert kinds(db, run["id"]) == ["created", "started"]


def test_workspace_level_run_and_started_at_alone(api):
    response = api.post(
        "/api/v1/runs",
        json={"type": "report_export", "status": "running", "started_at": "2026-11-26T11:59:00Z"},
    )
    run = response.get_json()
    assert response.status_code == 201
    assert run["tenant"] is None
    assert run["created_at"] == run["started_at"] == iso(T0 - timedelta(minutes=1))


def test_start_heartbeat_complete(api, db, clock, tenant):
    run_id = api.post("/api/v1/runs", json={"type": "inventory_sync"}).get_json()["id"]
    clock.advance(30)
    started = api.post(f"/api/v1/runs/{run_id}/start")
    assert started.status_code == 200
    assert started.get_json()["status"] == "running"
    assert started.get_json()["started_at"] == iso(T0 + timedelta(seconds=30))

    clock.advance(60)
    beat = api.post(f"/api/v1/runs/{run_id}/heartbeat", json={"processed": 5, "total": 10})
    assert beat.status_code == 200
    body = beat.get_json()
    assert (body["processed"], body["total"]) == (5, 10)
    assert body["last_heartbeat_at"] == body["last_progress_at"] == iso(clock.now())

    clock.advance(60)
    done = api.post(
        f"/api/v1/runs/{run_id}/complete",
        json={"outcome": "partially_succeeded", "message": "2 items skipped", "processed": 8},
    )
    assert done.status_code == 200
    body = done.get_json()
    assert (body["status"], body["outcome"]) == ("completed", "partially_succeeded")
    assert body["completed_at"] == iso(clock.now())
    assert body["failure_message"] == "2 items skipped"
    assert body["freshness"] == "terminal"
    assert body["problem_class"] == "terminal_follow_up"
    assert kinds(db, run_id) == ["created", "started", "progress", "completed"]


def test_start_with_backfilled_at(api, clock):
    run_id = api.post("/api/v1/runs", json={"type": "inventory_sync"}).get_json()["id"]
    clock.advance(600)
    response = api.post(f"/api/v1/runs/{run_id}/start", json={"at": "2026-11-26T12:01:00Z"})
    assert response.status_code == 200
    assert response.get_json()["started_at"] == iso(T0 + timedelta(minutes=1))


def test_last_progress_moves_only_when_processed_grows(api, clock, workspace):
    run = make_run(workspace, now=T0, type="inventory_sync", age=10)
    path = f"/api/v1/runs/{run.id}/heartbeat"

    first = api.post(path, json={"processed": 3}).get_json()
    assert first["last_progress_at"] == iso(T0)

    clock.advance(60)
    same = api.post(path, json={"processed": 3}).get_json()
    assert same["last_heartbeat_at"] == iso(clock.now())
    assert same["last_progress_at"] == iso(T0)

    clock.advance(60)
    fewer = api.post(path, json={"processed": 2}).get_json()
    assert fewer["processed"] == 3  # the high-water mark; the lower report is on the timeline
    assert fewer["last_progress_at"] == iso(T0)

    clock.advance(60)
    bare = api.post(path, json={}).get_json()
    assert bare["last_heartbeat_at"] == iso(clock.now())
    assert bare["last_progress_at"] == iso(T0)

    clock.advance(60)
    grown = api.post(path, json={"processed": 4}).get_json()
    assert grown["last_progress_at"] == iso(clock.now())


def test_heartbeat_at_in_the_past_is_kept(api, clock, workspace):
    run = make_run(workspace, now=T0, type="inventory_sync", age=600)
    response = api.post(
        f"/api/v1/runs/{run.id}/heartbeat", json={"processed": 1, "at": "2026-11-26T11:58:00Z"}
    )
    body = response.get_json()
    assert response.status_code == 200
    assert body["last_heartbeat_at"] == body["last_progress_at"] == iso(T0 - timedelta(minutes=2))


def test_get_run_includes_timeline(api, db, tenant, clock):
    run_id = api.post(
        "/api/v1/runs", json={"type": "policy_restore", "tenant": "contoso", "status": "running"}
    ).get_json()["id"]
    clock.advance(5)
    api.post(f"/api/v1/runs/{run_id}/heartbeat", json={"processed": 1})
    response = api.get(f"/api/v1/runs/{run_id}")
    assert response.status_code == 200
    run = response.get_json()
    assert set(run) == RUN_KEYS | {"events", "events_next", "events_total", "events_omitted"}
    assert run["tenant"]["slug"] == "contoso"
    assert [e["kind"] for e in run["events"]] == ["progress", "started", "created"]
    assert (run["events_next"], run["events_total"], run["events_omitted"]) == (None, 3, {})
    assert run["events"][0] == {
        "id": run["events"][0]["id"],
        "kind": "progress",
        "at": iso(T0 + timedelta(seconds=5)),
        "actor": "api:worker-1",
        "data": {"processed": 1, "at": iso(T0 + timedelta(seconds=5))},
    }


def test_reconciled_run_shows_reconciliation(api, workspace):
    run = make_run(workspace, now=T0, status="completed", reconciled=True)
    body = api.get(f"/api/v1/runs/{run.id}").get_json()
    assert body["freshness"] == "reconciled_failed"
    assert body["reconciliation_reason"] == "stale_no_heartbeat"
    assert body["reconciled_at"] == iso(T0 - timedelta(seconds=1))
