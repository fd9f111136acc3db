"""Run ingestion API: create, start, heartbeat, complete, get and list runs."""

from flask import jsonify, url_for

from app.blueprints.api import bp
from app.blueprints.api.auth import authenticate, principal
from app.blueprints.api.errors import ApiError, invalid
from app.blueprints.api.idempotency import idempotency_key, keep, replay
from app.blueprints.api.schemas import (
    CompleteRun,
    CreateRun,
    Heartbeat,
    ListQuery,
    RunQuery,
    StartRun,
    check_not_before,
    check_progress,
    parse_body,
    parse_query,
)
from app.blueprints.api.serialize import run_to_json, timeline_to_json
from app.blueprints.api.throttle import register_throttle, throttle_reports
from app.operations import get_policy, lifecycle
from app.operations.clock import now
from app.operations.queries import InvalidQuery, RunFilters
from app.operations.reads import RunReads
from app.operations.timeline import InvalidCursor, timeline_page

QUERY_FIELDS = {"activeTab": "tab", "problemClass": "problem_class"}
MAX_RUN_ID = 2**31 - 1

bp.before_request(authenticate)
register_throttle(bp)


def _not_found(run_id):
    return ApiError(404, "run_not_found", f"no run {run_id} in this workspace")


def _read_or_404(run_id, policy, at):
    """The visible run with its tenant (a RunRead): what the API shows, and what a change
    checks before it is written."""
    run = RunReads(principal().scope, policy, at).run(run_id) if run_id <= MAX_RUN_ID else None
    if run is None:
        raise _not_found(run_id)
    return run


def _tenant_or_404(ref):
    if ref is None:
        return None
    tenant = principal().scope.tenant_by_ref(ref)
    if tenant is None:
        raise ApiError(404, "tenant_not_found", f"no tenant {ref!r} in this workspace")
    return tenant


def _answer(run, policy, at, status=200):
    """The answer to a change: ``run`` as written (a RunRead, like every read's)."""
    return jsonify(run_to_json(run, policy, at)), status


@bp.post("/runs")
@throttle_reports
def create_run():
    policy, at = get_policy(), now()
    workspace_id, key = principal().scope.workspace_id, idempotency_key()
    if key is not None and (replayed := replay(workspace_id, key)) is not None:
        return replayed
    body = parse_body(CreateRun, policy=policy, now=at)
    tenant = _tenant_or_404(body.tenant)
    created_at = body.created_at
    if created_at is None and body.started_at is not None:
        created_at = min(at, body.started_at)
    run = lifecycle.create_run(
        workspace_id=workspace_id,
        tenant_id=tenant.id if tenant else None,
        type=body.type,
        now=at,
        actor=principal().actor,
        status=body.status,
        initiator=body.initiator,
        total=body.total,
        context=body.context,
        created_at=created_at,
        started_at=body.started_at,
        commit=key is None,
    )
    response, status = _answer(run, policy, at, 201)
    response.status_code = status
    response.headers["Location"] = url_for("api.get_run", run_id=run.id)
    if key is not None:
        return keep(response, workspace_id=workspace_id, key=key, run_id=run.id, now=at)
    return response


@bp.post("/runs/<int:run_id>/start")
@throttle_reports
def start_run(run_id):
    policy, at = get_policy(), now()
    body = parse_body(StartRun, policy=policy, now=at)
    run = _read_or_404(run_id, policy, at)
    if run.is_active:
        check_not_before(body.at, run.created_at, "at", "the run was created")
    run = lifecycle.start_run(run, now=at, actor=principal().actor, at=body.at)
    return _answer(run, policy, at)


@bp.post("/runs/<int:run_id>/heartbeat")
@throttle_reports
def heartbeat(run_id):
    policy, at = get_policy(), now()
    body = parse_body(Heartbeat, policy=policy, now=at)
    report = dict(processed=body.processed, total=body.total, at=body.at)
    report.update(now=at, actor=principal().actor)
    if run_id <= MAX_RUN_ID:  # written at once when the database's checks pass
        workspace_id = principal().scope.workspace_id
        run = lifecycle.checked_heartbeat(run_id, workspace_id=workspace_id, **report)
        if run is not None:
            return _answer(run, policy, at)
    run = _read_or_404(run_id, policy, at)
    if run.status == "running":
        check_not_before(body.at, run.started_at, "at", "the run started")
        check_progress(run, body)
    return _answer(lifecycle.heartbeat(run, **report), policy, at)


@bp.post("/runs/<int:run_id>/complete")
@throttle_reports
def complete_run(run_id):
    policy, at = get_policy(), now()
    body = parse_body(CompleteRun, policy=policy, now=at)
    run = _read_or_404(run_id, policy, at)
    if run.is_active:
        check_progress(run, body)
    run = lifecycle.complete_run(
        run,
        outcome=body.outcome,
        now=at,
        actor=principal().actor,
        message=body.message,
        processed=body.processed,
        total=body.total,
    )
    return _answer(run, policy, at)


@bp.get("/runs/<int:run_id>")
def get_run(run_id):
    query = parse_query(RunQuery)
    policy, at = get_policy(), now()
    run = _read_or_404(run_id, policy, at)
    try:
        page = timeline_page(run, before=query.events_before)
    except InvalidCursor as exc:
        raise invalid({"events_before": str(exc)}, "the query is not valid") from exc
    data = run_to_json(run, policy, at)
    data.update(timeline_to_json(page))
    return jsonify(data)


@bp.get("/runs")
def list_all_runs():
    query = parse_query(ListQuery)
    tenant = _tenant_or_404(query.tenant)
    policy, at = get_policy(), now()
    filters = RunFilters(
        tenant_id=tenant.id if tenant else None, type=query.type, status=query.status
    )
    try:
        page = RunReads(principal().scope, policy, at).page(
            tab=query.tab,
            filters=filters,
            cursor=query.cursor,
            limit=query.limit,
        )
    except InvalidQuery as exc:
        field = QUERY_FIELDS.get(exc.field, exc.field)
        raise invalid({field: exc.message}, "the query is not valid") from exc
    runs = [run_to_json(run, policy, at) for run in page.runs]
    return jsonify({"runs": runs, "next_cursor": page.next_cursor})
