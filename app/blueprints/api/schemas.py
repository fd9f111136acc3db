"""Request bodies and query strings of the API, validated strictly with pydantic.

No coercion: a count is a JSON integer (not a bool, float or string), timestamps are
ISO 8601 strings, unknown fields are refused. Timestamps become naive UTC and may not lie
more than MAX_FUTURE ahead of the app clock.
"""

import json
import re
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from flask import request
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from app.blueprints.api.body import json_body
from app.blueprints.api.errors import invalid
from app.models.runs import TERMINAL_OUTCOMES
from app.operations.clock import isoformat, to_utc_naive
from app.operations.queries import MAX_PAGE, TABS

MAX_FUTURE = timedelta(minutes=5)
MAX_INT64 = 2**63 - 1
CONTEXT_MAX_BYTES = 8 * 1024
ISO_8601 = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]([01]\d|2[0-3]):?[0-5]\d)?",
    re.ASCII,
)


def _timestamp(value, info):
    if not isinstance(value, str) or not ISO_8601.fullmatch(value):
        raise PydanticCustomError(
            "timestamp", "must be an ISO 8601 timestamp such as 2026-11-26T12:00:00Z"
        )
    try:
        parsed = to_utc_naive(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except (ValueError, OverflowError) as exc:  # overflow: the offset leaves years 1-9999
        raise PydanticCustomError("timestamp", "is not a valid date and time") from exc
    limit = info.context["now"] + MAX_FUTURE
    if parsed > limit:
        raise PydanticCustomError(
            "timestamp_future",
            "lies more than 5 minutes in the future (latest allowed {limit})",
            {"limit": isoformat(limit)},
        )
    return parsed


Timestamp = Annotated[
    datetime,
    PlainValidator(_timestamp, json_schema_input_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
Count = Annotated[int, Field(ge=0, le=MAX_INT64, strict=True)]


def _within_total(processed, info):
    total = info.data.get("total")
    if processed is not None and total is not None and processed > total:
        raise PydanticCustomError(
            "processed_over_total", "must not exceed total ({total})", {"total": total}
        )
    return processed


class Body(BaseModel):
    """Strict base of every request model."""

    model_config = ConfigDict(extra="forbid", strict=True)


class CreateRun(Body):
    type: Annotated[str, Field(min_length=1, max_length=64)]
    tenant: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    status: Literal["queued", "running"] = "queued"
    initiator: Annotated[str, Field(max_length=200)] | None = None
    total: Count | None = None
    context: dict[str, Any] | None = None
    created_at: Timestamp | None = None
    started_at: Timestamp | None = None

    @field_validator("type")
    @classmethod
    def _configured_type(cls, value, info):
        policy = info.context["policy"]
        if not policy.knows(value):
            known = ", ".join(policy.names())
            raise PydanticCustomError(
                "unknown_type", "unknown operation type; known: {known}", {"known": known}
            )
        return value

    @field_validator("context")
    @classmethod
    def _small_context(cls, value):
        size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
        if size > CONTEXT_MAX_BYTES:
            raise PydanticCustomError(
                "context_too_large",
                "must serialize to at most {limit} bytes (got {size})",
                {"limit": CONTEXT_MAX_BYTES, "size": size},
            )
        return value

    @field_validator("started_at")
    @classmethod
    def _started_after_created(cls, value, info):
        if value is None:
            return value
        if info.data.get("status", "running") != "running":
            raise PydanticCustomError("started_at_queued", "only for a run created running")
        created_at = info.data.get("created_at")
        if created_at is not None and value < created_at:
            raise PydanticCustomError("started_before_created", "must not be before created_at")
        return value


class StartRun(Body):
    at: Timestamp | None = None


class Heartbeat(Body):
    total: Count | None = None
    processed: Count | None = None
    at: Timestamp | None = None

    _processed = field_validator("processed")(_within_total)


class HeartbeatItem(Heartbeat):
    """One item of POST /heartbeats: a heartbeat of run ``run_id``."""

    run_id: Count


BATCH_LIMIT = 500


class HeartbeatBatch(Body):
    """POST /heartbeats: up to BATCH_LIMIT items, each validated on its own."""

    items: Annotated[list[Any], Field(min_length=1, max_length=BATCH_LIMIT)]


class CompleteRun(Body):
    outcome: Literal[TERMINAL_OUTCOMES]
    message: Annotated[str, Field(max_length=4000)] | None = None
    total: Count | None = None
    processed: Count | None = None

    _processed = field_validator("processed")(_within_total)


class ListQuery(BaseModel):
    """Query string of GET /runs (strings from the URL, so ``limit`` is parsed)."""

    model_config = ConfigDict(extra="forbid")

    tab: Literal[TABS] = "all"
    tenant: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    type: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    status: Literal["queued", "running", "completed"] | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 50
    cursor: Annotated[str, Field(max_length=200)] | None = None


class RunQuery(BaseModel):
    """Query string of GET /runs/<id>: ``events_before``, the cursor of older events."""

    model_config = ConfigDict(extra="forbid")

    events_before: Annotated[str, Field(min_length=1, max_length=200)] | None = None


def _field_errors(error):
    fields = {}
    for item in error.errors():
        name = ".".join(str(part) for part in item["loc"]) or "body"
        if item["type"] == "missing":
            message = "is required"
        elif item["type"] == "extra_forbidden":
            message = "is not a known field"
        else:
            message = item["msg"]
        fields.setdefault(name, message)
    return fields


def _validate(model, data, context):
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise invalid(_field_errors(exc)) from exc


def parse_item(model, data, *, policy, now):
    """Validate one item of a batch against ``model``; ApiError 422 (400 if not an object)."""
    if not isinstance(data, dict):
        raise invalid({"body": "must be a JSON object"})
    return _validate(model, data, {"policy": policy, "now": now})


def parse_body(model, *, policy, now):
    """Validate the JSON body against ``model``; ApiError 400 or 422."""
    return _validate(model, json_body(), {"policy": policy, "now": now})


def parse_query(model):
    """Validate the query string against ``model``; each parameter may appear once."""
    repeated = {name: "give it once" for name, values in request.args.lists() if len(values) > 1}
    if repeated:
        raise invalid(repeated)
    data = request.args.to_dict()
    return _validate(model, data, {})


def check_progress(run, body):
    """422 when the reported progress would exceed the run's (new or stored) total."""
    processed = body.processed if body.processed is not None else run.processed
    total = body.total if body.total is not None else run.total
    if processed is not None and total is not None and processed > total:
        name = "processed" if body.processed is not None else "total"
        message = (
            f"must not exceed total ({total})"
            if name == "processed"
            else f"must not be below processed ({processed})"
        )
        raise invalid({name: message})


def check_not_before(value, earliest, field, what):
    """422 when ``value`` lies before ``earliest``."""
    if value is not None and earliest is not None and value < earliest:
        raise invalid({field: f"must not be before {what}"})
