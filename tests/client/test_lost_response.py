"""A create whose answer is lost after the commit, retried by the client: one run."""

import socket
import socketserver
import threading
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from runwarden_client import Runwarden
from runwarden_client.transport import Backoff

from app.models import OperationRun


def _read_request(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


class LosingProxy(socketserver.ThreadingTCPServer):
    """Forwards each request to ``upstream`` and waits for its whole answer; the first
    ``drop`` answers are thrown away and the worker's connection closed instead."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, upstream, drop):
        self.upstream, self.drop, self.forwarded = upstream, drop, 0
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), LosingHandler)


class LosingHandler(socketserver.BaseRequestHandler):
    def handle(self):
        request = _read_request(self.request)
        with socket.create_connection(self.server.upstream, timeout=10) as upstream:
            upstream.sendall(request)
            answer = b""
            while chunk := upstream.recv(65536):
                answer += chunk
        with self.server.lock:
            self.server.forwarded += 1
            lose = self.server.drop > 0
            self.server.drop -= 1 if lose else 0
        if not lose:
            self.request.sendall(answer)


@pytest.fixture
def proxy(server):
    address = urlsplit(server)
    losing = LosingProxy((address.hostname, address.port), drop=2)
    thread = threading.Thread(target=losing.serve_forever, daemon=True)
    thread.start()
    yield losing
    losing.shutdown()
    losing.server_close()


def test_a_create_retried_after_lost_answers_makes_one_run(proxy, token, db):
    host, port = proxy.server_address
    client = Runwarden(f"http://{host}:{port}", token, retries=4, heartbeat_interval=3600)
    client.transport.backoff = Backoff(0.01, 0.05)
    run = client.start("baseline_compare", tenant="contoso", total=3)
    client.close()
    assert proxy.forwarded == 3  # two creates answered into the void, one answered
    db.session.rollback()
    assert db.session.scalars(sa.select(OperationRun.id)).all() == [run.id]
