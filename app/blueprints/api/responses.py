"""The shapes of the API's answers, as pydantic models: the OpenAPI document's response
schemas. ``serialize`` writes these shapes; tests hold the two together."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from app.models.runs import TERMINAL_OUTCOMES
from app.operations.freshness import FRESHNESS_STATES
from app.presenter.badges import TONES

Timestamp = str  # ISO 8601, UTC, with a Z suffix (``clock.isoformat``)


class Answer(BaseModel):
    """Answers name every field; nothing else appears."""

    model_config = ConfigDict(extra="forbid")


class TenantRef(Answer):
    id: int
    uuid: str
    slug: str
    name: str


class Badge(Answer):
    label: str
    tone: Literal[TONES]
    icon: str


class Run(Answer):
    """A run with the presenter's truth: the same freshness and words the pages show."""

    id: int
    workspace_id: int
    tenant: TenantRef | None
    type: str
    type_label: str
    status: Literal["queued", "running", "completed"]
    outcome: Literal[("pending", *TERMINAL_OUTCOMES)]
    created_at: Timestamp
    started_at: Timestamp | None
    completed_at: Timestamp | None
    last_heartbeat_at: Timestamp | None
    last_progress_at: Timestamp | None
    processed: int | None
    total: int | None
    initiator: str | None
    context: dict[str, Any] | None
    failure_message: str | None
    reconciled_at: Timestamp | None
    reconciliation_reason: str | None
    reconciliation_message: str | None
    freshness: Literal[FRESHNESS_STATES]
    problem_class: Literal["active_stale_attention", "terminal_follow_up", "none"]
    stale_reason: str | None
    stale_since: Timestamp | None
    reconcile_at: Timestamp | None
    next_transition_at: Timestamp | None
    badge: Badge
    guidance: str | None


class Event(Answer):
    id: int
    kind: str
    at: Timestamp
    actor: str
    data: Any


class Omitted(Answer):
    count: int
    last_at: Timestamp | None


class RunDetail(Run):
    """One run with a page of its timeline, newest first."""

    events: list[Event]
    events_next: str | None
    events_total: int
    events_omitted: dict[str, Omitted]


class RunList(Answer):
    runs: list[Run]
    next_cursor: str | None


class ErrorBody(Answer):
    code: str
    message: str
    fields: dict[str, str]


class Error(Answer):
    """Every error: 400, 401, 404, 405, 409, 413, 422, 429, 503."""

    error: ErrorBody


class HeartbeatResult(Answer):
    """One item's answer, in the order of the request: ``status`` 200 (kept), 404 (no such
    run here), 409 (the run is completed: kept as a late report) or 422 (not valid)."""

    index: int
    run_id: Any
    status: Literal[200, 404, 409, 422]
    error: ErrorBody | None = None


class HeartbeatResults(Answer):
    results: list[HeartbeatResult]


RESPONSE_MODELS = (Run, RunDetail, RunList, Error, HeartbeatResults)
