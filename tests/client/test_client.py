"""The Python client against the real app over HTTP."""

import pytest
from runwarden_client import ApiError, Run, Runwarden
from runwarden_client.transport import Backoff, retry_after_seconds

from app.models import RunEvent
from tests.client.conftest import stored, wait_for

DEADLINE = 20


@pytest.fixture
def client(server, token):
    with Runwarden(server, token, heartbeat_interval=3600, retries=0) as rw:
        yield rw


def test_the_block_completes_the_run_as_succeeded(client):
    with client.run("baseline_compare", tenant="contoso", total=10) as run:
        assert stored(run.id).status == "running"
        run.progress(4)
    row = stored(run.id)
    assert (row.status, row.outcome, row.processed, row.total) == ("completed", "succeeded", 4, 10)
    assert run.data["outcome"] == "succeeded"


def test_an_exception_completes_the_run_as_failed_and_goes_on(client):
    with pytest.raises(ValueError, match="disk full"):
        with client.run("baseline_compare", tenant="contoso") as run:
            raise ValueError("disk full")
    row = stored(run.id)
    assert (row.status, row.outcome) == ("completed", "failed")
    assert row.failure_message == "ValueError: disk full"


def test_start_creates_a_running_run_of_the_workspace(client):
    run = client.start("baseline_compare", initiator="nightly", context={"k": 1})
    assert run.data["tenant"] is None and run.data["status"] == "running"
    assert client.get(run.id)["initiator"] == "nightly"
    run.complete("partially_succeeded", "3 of 4 done")
    assert stored(run.id).outcome == "partially_succeeded"


def test_a_refused_create_raises_the_servers_error(client):
    with pytest.raises(ApiError) as caught:
        client.start("no_such_type")
    assert caught.value.status == 422 and "type" in caught.value.fields


def test_the_heartbeat_thread_reports_progress_of_every_open_run(server, token, db):
    with Runwarden(server, token, heartbeat_interval=0.05, retries=0) as rw:
        first = rw.start("baseline_compare", tenant="contoso", total=10)
        second = rw.start("baseline_compare", total=5)
        first.progress(3)
        second.progress(5)
        assert wait_for(lambda: (stored(first.id).processed, stored(second.id).processed) == (3, 5))
        first.complete()
        second.complete()
    assert stored(first.id).last_heartbeat_at is not None


def test_a_run_completed_by_the_server_stops_being_heartbeaten(client, db):
    run = client.start("baseline_compare")
    other = Runwarden(client.transport.url, client.transport.token, retries=0)
    other.transport.request("POST", run.path("complete"), {"outcome": "cancelled"})
    client.heartbeater.beat()
    assert run.closed_by_server
    assert run.id not in client.heartbeater._runs
    kinds = [e.kind for e in db.session.query(RunEvent).filter_by(run_id=run.id)]
    assert "late_report" in kinds


def test_a_completion_retried_after_a_lost_answer_is_accepted(client):
    run = client.start("baseline_compare")
    client.transport.request("POST", run.path("complete"), {"outcome": "succeeded"})
    run.complete("succeeded")  # the first answer was "lost": the run holds this outcome
    assert run.data["outcome"] == "succeeded"
    second = client.start("baseline_compare")
    second.complete("cancelled")
    with pytest.raises(ApiError):
        second.complete("succeeded")


def test_backoff_doubles_with_jitter_and_honours_retry_after():
    low, high = Backoff(0.5, 30, rng=lambda: 0.0), Backoff(0.5, 30, rng=lambda: 0.999)
    assert [low.delay(n) for n in range(4)] == [0.25, 0.5, 1.0, 2.0]
    assert high.delay(10) < 30 and low.delay(10) == 15
    assert low.delay(0, retry_after=7) == 7
    assert retry_after_seconds("12") == 12
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0
    assert retry_after_seconds("soon") is None


def test_busy_answers_are_retried_after_retry_after(monkeypatch):
    import http.server
    import threading

    answers = [(429, {"Retry-After": "3"}), (503, {}), (201, {})]
    keys = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            self.rfile.read(int(self.headers["Content-Length"]))
            keys.append(self.headers["Idempotency-Key"])
            status, headers = answers.pop(0)
            body = b'{"id": 7, "status": "running"}' if status == 201 else b"{}"
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    slept = []
    try:
        client = Runwarden(f"http://127.0.0.1:{httpd.server_port}", "t", heartbeat_interval=3600)
        client.transport.sleep = slept.append
        client.transport.backoff = Backoff(0.5, 30, rng=lambda: 0.0)
        assert client.start("baseline_compare").id == 7
        client.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert slept == [3, 0.5]  # Retry-After honoured, then the backoff's second step
    assert len(set(keys)) == 1 and len(keys) == 3


class FakeTransport:
    """Answers like a server without the batch endpoint."""

    timeout = 1

    def __init__(self):
        self.calls = []

    def request(self, method, path, body=None, headers=None):
        self.calls.append(path)
        if path == "/api/v1/heartbeats":
            raise ApiError(404, "not_found", "no such API endpoint")
        return {"id": int(path.split("/")[4]), "status": "running"}


def test_without_the_batch_endpoint_runs_are_heartbeaten_one_by_one():
    transport = FakeTransport()
    client = Runwarden("http://unused", "t", transport=transport)
    runs = [Run(client, {"id": n, "status": "running"}) for n in (1, 2)]
    for run in runs:
        client.heartbeater._runs[run.id] = run
    client.heartbeater.beat()
    client.heartbeater.beat()
    assert transport.calls == [
        "/api/v1/heartbeats",
        "/api/v1/runs/1/heartbeat",
        "/api/v1/runs/2/heartbeat",
        "/api/v1/runs/1/heartbeat",
        "/api/v1/runs/2/heartbeat",
    ]
