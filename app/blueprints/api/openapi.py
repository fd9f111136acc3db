"""The OpenAPI 3.1 document of /api/v1, built from the pydantic models that validate the
requests (``schemas``) and describe the answers (``responses``); served without a token
at GET /api/v1/openapi.json."""

from flask import current_app, jsonify
from pydantic.json_schema import models_json_schema

from app.blueprints.api import bp, responses, schemas
from app.blueprints.api.idempotency import OPENAPI_HEADER
from app.operations import get_policy

REF = "#/components/schemas/{model}"
ERROR = {"$ref": REF.format(model="Error")}
ERROR_TEXT = {
    400: "Malformed request (not JSON, not an object)",
    401: "Missing or invalid token",
    404: "Unknown run or tenant (or another workspace's)",
    409: "Transition not allowed (a report for a completed run is kept as a late report)",
    413: "Body too large",
    422: "Validation failed; ``fields`` names each offending field",
    429: "Too many report calls for this token; retry after ``Retry-After`` seconds",
    503: "Database unavailable; retry after ``Retry-After`` seconds",
}
REPORT_ERRORS = (400, 401, 404, 409, 413, 422, 429, 503)
READ_ERRORS = (400, 401, 404, 422, 503)
DOCUMENT = {"application/json": {"schema": {"type": "object"}}}
RUN_ID = {
    "name": "run_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 0},
}


def _components(policy):
    requests = [schemas.CreateRun, schemas.StartRun, schemas.Heartbeat, schemas.CompleteRun]
    requests += [schemas.HeartbeatItem, schemas.HeartbeatBatch]
    models = [(model, "validation") for model in requests]
    models += [(model, "serialization") for model in responses.RESPONSE_MODELS]
    _, document = models_json_schema(models, ref_template=REF)
    components = document["$defs"]
    components["CreateRun"]["properties"]["type"]["enum"] = list(policy.names())
    # Items are validated one by one (an invalid one gets its own 422): documented as valid.
    components["HeartbeatBatch"]["properties"]["items"]["items"] = {
        "$ref": REF.format(model="HeartbeatItem")
    }
    return components


def _query_parameters(model):
    schema = model.model_json_schema()
    parameters = []
    for name, prop in schema["properties"].items():
        choices = [p for p in prop.get("anyOf", [prop]) if p.get("type") != "null"]
        plain = {k: v for k, v in choices[0].items() if k != "title"} if choices else {}
        if "default" in prop and prop["default"] is not None:
            plain["default"] = prop["default"]
        parameters.append({"name": name, "in": "query", "required": False, "schema": plain})
    return parameters


def _json(ref):
    return {"application/json": {"schema": {"$ref": REF.format(model=ref)}}}


def _answers(status, model, errors, description="OK"):
    answers = {str(status): {"description": description, "content": _json(model)}}
    for code in errors:
        answers[str(code)] = {
            "description": ERROR_TEXT[code],
            "content": {"application/json": {"schema": ERROR}},
        }
    return answers


def _report(summary, body, *, required=False, status=200, parameters=(RUN_ID,)):
    operation = {
        "summary": summary,
        "parameters": list(parameters),
        "requestBody": {"required": required, "content": _json(body)},
        "responses": _answers(status, "Run", REPORT_ERRORS),
    }
    return {"post": operation}


def _paths():
    created = _answers(201, "Run", REPORT_ERRORS, "Created")
    create = _report("Create a run", "CreateRun", required=True, status=201, parameters=())
    create["post"]["responses"] = created
    create["post"]["parameters"] = [OPENAPI_HEADER]
    paths = {
        "/runs": {
            **create,
            "get": {
                "summary": "List runs, newest first",
                "parameters": _query_parameters(schemas.ListQuery),
                "responses": _answers(200, "RunList", READ_ERRORS),
            },
        },
        "/runs/{run_id}": {
            "get": {
                "summary": "One run with a page of its timeline",
                "parameters": [RUN_ID, *_query_parameters(schemas.RunQuery)],
                "responses": _answers(200, "RunDetail", READ_ERRORS),
            }
        },
        "/runs/{run_id}/start": _report("Start a queued run", "StartRun"),
        "/runs/{run_id}/heartbeat": _report("Report a heartbeat", "Heartbeat"),
        "/runs/{run_id}/complete": _report("Complete a run", "CompleteRun", required=True),
    }
    paths["/heartbeats"] = {
        "post": {
            "summary": "Heartbeats of many runs in one transaction; one result per item",
            "requestBody": {"required": True, "content": _json("HeartbeatBatch")},
            "responses": _answers(200, "HeartbeatResults", (400, 401, 413, 422, 429, 503)),
        }
    }
    paths["/openapi.json"] = {
        "get": {
            "summary": "This document",
            "security": [],
            "responses": {"200": {"description": "OpenAPI 3.1", "content": DOCUMENT}},
        }
    }
    return paths


def openapi_document(policy):
    """The document for this deployment (its operation types are the ``type`` enum)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Runwarden ingestion API",
            "version": "1",
            "description": "Workers report operation runs; every run answered carries the "
            "same freshness, problem class, badge and guidance as the pages.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": _paths(),
        "components": {
            "schemas": _components(policy),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


@bp.get("/openapi.json")
def openapi():
    """The document (no token needed): built once per app."""
    cached = current_app.extensions.get("runwarden.openapi")
    if cached is None:
        cached = current_app.extensions["runwarden.openapi"] = openapi_document(get_policy())
    return jsonify(cached)
