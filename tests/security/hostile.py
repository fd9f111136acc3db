"""The harness of the hostile API suite: the fields of each endpoint and a client that checks
every answer and the database."""

import json
import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from app.models.runs import TERMINAL_OUTCOMES
from tests.security.conftest import count_case, db_state, send

EXAMPLES = int(os.environ.get("RUNWARDEN_HOSTILE_EXAMPLES", "100"))
HOSTILE = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
STREAMED = {"wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"}
BODY_LIMIT = 64 * 1024

# Field kinds per endpoint: str (required text), str? (optional text), enum (required choice),
# count? (optional int), object? (optional JSON object), ts? (optional timestamp).
FIELDS = {
    "create": {
        "type": "str",
        "tenant": "str?",
        "status": "enum",
        "initiator": "str?",
        "total": "count?",
        "context": "object?",
        "created_at": "ts?",
        "started_at": "ts?",
    },
    "start": {"at": "ts?"},
    "heartbeat": {"total": "count?", "processed": "count?", "at": "ts?"},
    "complete": {"outcome": "enum", "message": "str?", "total": "count?", "processed": "count?"},
}
BASE = {
    "create": {"type": "inventory_sync"},
    "start": {},
    "heartbeat": {},
    "complete": {"outcome": "succeeded"},
}
COUNT_FIELDS = [
    (ep, name) for ep, fields in FIELDS.items() for name, k in fields.items() if k == "count?"
]
TIMESTAMP_FIELDS = [
    ("create", "created_at"),
    ("create", "started_at"),
    ("start", "at"),
    ("heartbeat", "at"),
]
FREE_TEXT_FIELDS = [("create", "initiator"), ("complete", "message")]
# Values that name something real (a type, a tenant slug, a status or an outcome).
KNOWN = {
    "inventory_sync",
    "baseline_compare",
    "policy_restore",
    "report_export",
    "alpha",
    "bravo",
    "queued",
    "running",
    *TERMINAL_OUTCOMES,
}
JSON_TYPES = {"str": str, "str?": str, "enum": str, "count?": int, "object?": dict, "ts?": str}


def wrong_type(kind, value):
    """Whether ``value`` has a JSON type that a field of ``kind`` never accepts."""
    if value is None:
        return kind in ("str", "enum")
    return type(value) is not JSON_TYPES[kind]


class Hostile:
    """Sends hostile requests with the workspace's token and checks each answer and the
    database."""

    def __init__(self, app, db, world, backend):
        self.app, self.db, self.world, self.backend = app, db, world, backend
        self.client = app.test_client()
        self.baseline = db_state(db)
        self.first_write = None  # the first request that changed the database, if any
        runs = world.runs
        self.paths = {
            "create": "/api/v1/runs",
            "start": f"/api/v1/runs/{runs.queued.id}/start",
            "heartbeat": f"/api/v1/runs/{runs.running.id}/heartbeat",
            "complete": f"/api/v1/runs/{runs.running.id}/complete",
        }

    def send(self, kind, method, path, token=None, **kwargs):
        count_case(kind, self.backend)
        headers = {"Authorization": f"Bearer {token or self.world.tokens.own}"}
        headers.update(kwargs.pop("headers", {}))
        response = send(self.app, self.client, method, path, headers=headers, **kwargs)
        body = response.get_data(as_text=True)
        assert response.status_code < 500, (kind, path, kwargs, body)
        if self.first_write is None and db_state(self.db) != self.baseline:
            self.first_write = (kind, path, kwargs, response.status_code, body[:300])
        assert self.first_write is None, self.first_write
        return response

    def refused(self, kind, method, path, statuses, **kwargs):
        """Send; assert one of ``statuses`` and a JSON error with a message. Returns it."""
        response = self.send(kind, method, path, **kwargs)
        assert response.status_code in statuses, (kind, path, kwargs, response.data[:300])
        assert response.mimetype == "application/json", response.data[:300]
        error = response.get_json()["error"]
        assert isinstance(error["message"], str) and error["message"].strip()
        assert set(error) == {"code", "message", "fields"}
        return error

    def body(self, kind, endpoint, raw, statuses, **kwargs):
        """POST the raw ``raw`` body (str or bytes) to ``endpoint`` as JSON."""
        kwargs.setdefault("content_type", "application/json")
        return self.refused(kind, "POST", self.paths[endpoint], statuses, data=raw, **kwargs)

    def field(self, kind, endpoint, name, value, statuses=(422,)):
        """POST the endpoint's valid base body with ``name`` set to ``value``."""
        raw = json.dumps({**BASE[endpoint], name: value})
        error = self.body(kind, endpoint, raw, statuses)
        if statuses == (422,):
            assert name in error["fields"], error
        return error


def endpoint_fields(kinds=None):
    """(endpoint, field) pairs, of the given kinds or all."""
    pairs = [
        (ep, name)
        for ep, fields in FIELDS.items()
        for name, kind in fields.items()
        if kinds is None or kind in kinds
    ]
    return st.sampled_from(pairs)
