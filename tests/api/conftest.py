"""API fixtures: a workspace with a tenant, a bearer token and a client that sends it."""

from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from app.models import OperationRun, RunChange, RunEvent
from app.operations.tokens import create_token
from tests.factories import make_tenant, make_workspace


class ApiClient:
    """The Flask test client with ``Authorization: Bearer <secret>`` on every request."""

    def __init__(self, client, secret):
        self.client = client
        self.secret = secret

    def _headers(self, headers):
        return {"Authorization": f"Bearer {self.secret}", **(headers or {})}

    def get(self, path, headers=None, **kwargs):
        return self.client.get(path, headers=self._headers(headers), **kwargs)

    def post(self, path, headers=None, **kwargs):
        return self.client.post(path, headers=self._headers(headers), **kwargs)

    def open(self, path, headers=None, **kwargs):
        return self.client.open(path, headers=self._headers(headers), **kwargs)


def row_counts(db):
    """Rows in the tables a run change writes to."""
    return {
        model.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (OperationRun, RunEvent, RunChange)
    }


@contextmanager
def writes_nothing(db):
    """Assert that the block leaves runs, events and the change feed untouched."""
    before = row_counts(db)
    yield
    db.session.rollback()
    assert row_counts(db) == before


def error_of(response, status, code=None):
    """The ``error`` object of a JSON error response, after checking status and code."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "fields"}
    if code is not None:
        assert error["code"] == code
    return error


@pytest.fixture
def workspace(db):
    return make_workspace(slug="acme")


@pytest.fixture
def tenant(workspace):
    return make_tenant(workspace, slug="contoso", name="Contoso")


@pytest.fixture
def issued(workspace, clock):
    return create_token(workspace, "worker-1", now=clock.now())


@pytest.fixture
def api(client, issued):
    return ApiClient(client, issued.secret)


@pytest.fixture
def other_workspace(db):
    """A second workspace with its own tenant, token and client."""
    ws = make_workspace(slug="globex")
    return ws, make_tenant(ws, slug="globex-t")


@pytest.fixture
def other_api(client, other_workspace, clock):
    return ApiClient(client, create_token(other_workspace[0], "other", now=clock.now()).secret)
