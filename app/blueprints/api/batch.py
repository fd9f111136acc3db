"""POST /api/v1/heartbeats: many runs' heartbeats in one call and one transaction.

Every item gets the single call's checks (``Heartbeat`` schema, ``check_not_before``,
``check_progress``) and is written by the single call's code path; the answer lists one
result per item, in order: 200, 404 (no such run in this workspace), 409 (the run is
completed: kept as a late report) or 422 (not valid; nothing written for it).
"""

from flask import jsonify

from app.blueprints.api import bp
from app.blueprints.api.auth import principal
from app.blueprints.api.errors import ApiError, invalid
from app.blueprints.api.routes import MAX_RUN_ID
from app.blueprints.api.schemas import (
    HeartbeatBatch,
    HeartbeatItem,
    check_not_before,
    check_progress,
    parse_body,
    parse_item,
)
from app.blueprints.api.throttle import throttle_reports
from app.operations import get_policy
from app.operations.clock import now
from app.operations.lifecycle import checked_heartbeats, heartbeat_batch
from app.operations.reads import RunReads
from app.operations.store import Report


def _result(index, run_id, status=200, error=None):
    result = {"index": index, "run_id": run_id, "status": status}
    if error is not None:
        fields = getattr(error, "fields", {})
        result["error"] = {"code": error.code, "message": error.message, "fields": fields}
    return result


def _valid_items(items, policy, at):
    """(index, item) of each valid item; a result for each other one."""
    results, valid, seen = {}, [], set()
    for index, raw in enumerate(items):
        run_id = raw.get("run_id") if isinstance(raw, dict) else None
        try:
            item = parse_item(HeartbeatItem, raw, policy=policy, now=at)
            if item.run_id in seen:
                raise invalid({"run_id": "appears earlier in this batch"})
        except ApiError as exc:
            results[index] = _result(index, run_id, exc.status, exc)
            continue
        seen.add(item.run_id)
        valid.append((index, item))
    return results, valid


def _visible_runs(ids, policy, at):
    """What the single call's checks read of each visible run (``RunReads.to_check``)."""
    ids = [run_id for run_id in ids if run_id <= MAX_RUN_ID]
    return RunReads(principal().scope, policy, at).to_check(ids)


def _written_at_once(valid, at):
    """The ids of the items' runs written by one statement whose checks the database
    makes (none on a database without one); the others are read and checked first."""
    reports = [_report(item, at) for _, item in valid if item.run_id <= MAX_RUN_ID]
    workspace_id = principal().scope.workspace_id
    return checked_heartbeats(reports, workspace_id=workspace_id, now=at, actor=principal().actor)


def _report(item, at):
    return Report(item.run_id, item.processed, item.total, item.at or at)


def _checked(index, item, run):
    """The single call's checks against the stored run; None when the item passes."""
    if run is None:
        error = ApiError(404, "run_not_found", f"no run {item.run_id} in this workspace")
        return _result(index, item.run_id, 404, error)
    try:
        if run.status == "running":
            check_not_before(item.at, run.started_at, "at", "the run started")
            check_progress(run, item)
    except ApiError as exc:
        return _result(index, item.run_id, exc.status, exc)
    return None


@bp.post("/heartbeats")
@throttle_reports
def heartbeats():
    policy, at = get_policy(), now()
    batch = parse_body(HeartbeatBatch, policy=policy, now=at)
    results, valid = _valid_items(batch.items, policy, at)
    written = _written_at_once(valid, at)
    for index, item in valid:
        if item.run_id in written:
            results[index] = _result(index, item.run_id)
    valid = [(index, item) for index, item in valid if item.run_id not in written]
    runs = _visible_runs([item.run_id for _, item in valid], policy, at)
    taken = []
    for index, item in valid:
        run = runs.get(item.run_id)
        refused = _checked(index, item, run)
        if refused is not None:
            results[index] = refused
        else:
            taken.append((index, item, run))
    reports = [_report(item, at) for _, item, _ in taken]
    errors = heartbeat_batch(reports, now=at, actor=principal().actor)
    for (index, item, _), error in zip(taken, errors, strict=True):
        results[index] = _result(index, item.run_id, 409 if error else 200, error)
    return jsonify({"results": [results[i] for i in range(len(batch.items))]})
