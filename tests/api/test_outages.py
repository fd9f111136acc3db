"""Database outages answer 503 with Retry-After (JSON on the API, a page for browsers), and
the app recovers from terminated connections without a restart."""

import threading
import time
import uuid

import psycopg
import pytest
import sqlalchemy as sa

from app.models import OperationRun, RunEvent
from app.outages import UNAVAILABLE_MESSAGE
from tests.api.conftest import ApiClient, error_of
from tests.conftest import login
from tests.factories import make_member, make_user, make_workspace

ONLY_POSTGRES = pytest.mark.parametrize("backend", ["postgres"], indirect=True)
ALLOWED = {409, 429, 503}


def lost_connection():
    return sa.exc.OperationalError(
        "SELECT 1", {}, Exception("server closed the connection unexpectedly")
    )


@pytest.fixture
def answered(app):
    """Unhandled exceptions reach the error handlers, as in production."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def fail_with(monkeypatch, error, target="app.blueprints.api.auth.verify_token"):
    def explode(*args, **kwargs):
        raise error

    monkeypatch.setattr(target, explode)


@pytest.mark.parametrize(
    "error",
    [
        lost_connection(),
        psycopg.OperationalError("connection is closed"),
        sa.exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached"),
        sa.exc.InterfaceError("SELECT 1", {}, Exception("closed"), connection_invalidated=True),
    ],
    ids=["operational", "psycopg", "pool_timeout", "invalidated"],
)
def test_api_answers_503_unavailable_with_retry_after(answered, api, monkeypatch, error):
    fail_with(monkeypatch, error)
    response = api.post("/api/v1/runs", json={"type": "inventory_sync"})
    assert error_of(response, 503, "unavailable") == {
        "code": "unavailable",
        "message": UNAVAILABLE_MESSAGE,
        "fields": {},
    }
    assert int(response.headers["Retry-After"]) >= 1


def test_other_database_errors_are_still_500(answered, api, monkeypatch):
    fail_with(monkeypatch, sa.exc.ProgrammingError("SELECT x", {}, Exception("no column x")))
    response = api.get("/api/v1/runs")
    error_of(response, 500, "internal_error")
    assert "Retry-After" not in response.headers


def test_pages_answer_the_503_page(answered, db):
    user = make_user()
    make_member(user, make_workspace(), "owner")
    client = login(answered.test_client(), user)
    outage = []

    @answered.before_request
    def _database_gone():
        if outage:
            raise lost_connection()

    assert client.get("/admin").status_code == 200
    outage.append(True)
    response = client.get("/admin")
    assert response.status_code == 503 and response.mimetype == "text/html"
    assert int(response.headers["Retry-After"]) >= 1
    html = response.get_data(as_text=True)
    assert "Temporarily unavailable" in html and "Something went wrong" not in html
    assert "OperationalError" not in html and "server closed" not in html


def test_the_503_page_needs_no_database_itself(answered, db, monkeypatch):
    user = make_user()
    client = login(answered.test_client(), user)
    fail_with(monkeypatch, lost_connection(), "app.operations.sessions.load_session_user")
    response = client.get("/admin")  # the user loader fails, and so would the layout
    assert response.status_code == 503 and "Retry-After" in response.headers
    assert "Temporarily unavailable" in response.get_data(as_text=True)


def terminate_app_connections(killer):
    """Terminate every other connection to the test database; returns how many."""
    with killer.connect() as conn:
        return len(
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).all()
        )


@pytest.fixture
def killer(app, db):
    engine = sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


@pytest.mark.postgres
@ONLY_POSTGRES
def test_pooled_connections_terminated_while_idle_are_replaced(app, db, api, killer):
    assert api.get("/api/v1/runs").status_code == 200
    db.session.remove()  # the connection goes back to the pool, idle
    assert terminate_app_connections(killer) >= 1
    assert api.get("/api/v1/runs").status_code == 200


@pytest.mark.postgres
@ONLY_POSTGRES
def test_a_connection_lost_mid_request_answers_503_then_recovers(answered, db, api, monkeypatch):
    from app.blueprints.api import auth

    real = auth.verify_token
    calls = []

    def dies_once(*args, **kwargs):
        if not calls:
            calls.append(True)
            db.session.execute(sa.text("SELECT pg_terminate_backend(pg_backend_pid())"))
        return real(*args, **kwargs)

    monkeypatch.setattr(auth, "verify_token", dies_once)
    response = api.post("/api/v1/runs", json={"type": "inventory_sync", "status": "running"})
    error_of(response, 503, "unavailable")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OperationRun)) == 0
    created = api.post("/api/v1/runs", json={"type": "inventory_sync", "status": "running"})
    assert created.status_code == 201


class Worker(threading.Thread):
    """Creates a run, then reports ``beats`` heartbeats with growing ``processed``."""

    def __init__(self, app, secret, beats):
        super().__init__(daemon=True)
        self.api = ApiClient(app.test_client(), secret)
        self.beats = beats
        self.statuses, self.run_id, self.acked = [], None, 0
        self.acknowledged = []  # every processed value answered 2xx
        self.key = uuid.uuid4().hex  # a retried create answers the first run, never a second
        self.error = None

    def run(self):
        try:
            self._report()
        except Exception as exc:  # reported by the test, never lost in the thread
            self.error = exc

    def _send(self, path, body, headers=None):
        response = self.api.post(path, json=body, headers=headers)
        self.statuses.append(response.status_code)
        return response

    def _report(self):
        body = {"type": "inventory_sync", "status": "running", "total": self.beats}
        while self.run_id is None:
            response = self._send("/api/v1/runs", body, {"Idempotency-Key": self.key})
            if response.status_code in (200, 201):
                self.run_id = response.get_json()["id"]
        for processed in range(1, self.beats + 1):
            response = self._send(f"/api/v1/runs/{self.run_id}/heartbeat", {"processed": processed})
            if 200 <= response.status_code < 300:
                self.acked = processed
                self.acknowledged.append(processed)


@pytest.mark.postgres
@ONLY_POSTGRES
def test_terminated_connections_while_workers_report(answered, db, issued, killer):
    db.session.remove()
    workers = [Worker(answered, issued.secret, beats=40) for _ in range(8)]
    for worker in workers:
        worker.start()
    terminated = 0
    while any(worker.is_alive() for worker in workers):
        terminated += terminate_app_connections(killer)
        time.sleep(0.05)
    for worker in workers:
        worker.join(30)
        assert worker.error is None, repr(worker.error)
    answers = [status for worker in workers for status in worker.statuses]
    unexpected = [s for s in answers if not (200 <= s < 300 or s in ALLOWED)]
    assert terminated > 0 and unexpected == [], (terminated, sorted(set(answers)))
    db.session.remove()
    for worker in workers:  # every acknowledged write is there
        run = db.session.get(OperationRun, worker.run_id)
        assert run is not None and run.status == "running"
        assert worker.acked <= run.processed <= worker.beats, (worker.acked, run.processed)
        recorded = {
            event.data["processed"]
            for event in db.session.scalars(
                sa.select(RunEvent).where(RunEvent.run_id == run.id, RunEvent.kind == "progress")
            )
        }
        lost = sorted(set(worker.acknowledged) - recorded)
        assert worker.acknowledged and lost == [], f"acknowledged, not on the timeline: {lost}"
    # a create retried after a 503 that had committed gave back the same run, not a second
    runs = db.session.scalar(sa.select(sa.func.count()).select_from(OperationRun))
    assert runs == len(workers)
    # and the app works again without a restart
    assert ApiClient(answered.test_client(), issued.secret).get("/api/v1/runs").status_code == 200
