"""Property-based: requests generated from the OpenAPI document (schemathesis) never get
a 5xx, and every answer matches the document (status, content type, body schema)."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import make_run

MAX_EXAMPLES = 60
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def api_schema(app, workspace, tenant, issued, clock):
    """The app's own document, loaded from the app, with a few runs to address."""
    for status in ("queued", "running", "running", "completed"):
        make_run(workspace, tenant, now=clock.now(), status=status, total=10)
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def _check(operation, headers, mode):
    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def examples(case):
        case.call_and_validate(headers=headers, checks=CHECKS)

    examples()


def test_the_api_keeps_its_document(api_schema, issued):
    # Driven by hand: schemathesis' pytest plugin does not run under this pytest.
    headers = {"Authorization": f"Bearer {issued.secret}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 7, operations
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _check(operation, headers, mode)
