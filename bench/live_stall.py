"""A stalled client: a raw WebSocket that completes its handshake and never reads again.

It offers no compression and keeps a small receive buffer, so every push to its (big) page
piles up: first in its own receive buffer, then in the server's send buffer, until the
server's send blocks. It watches its connection from both ends every half second (bytes
waiting on its side, ``ss``'s Send-Q and state on the server's side) and, when the server
drops it (the server's end leaves ESTAB), opens a new stalled socket, so one stalled client
is present for the whole measure. Loopback only (checked by ``bench.live_clients``).
"""

import asyncio
import base64
import fcntl
import os
import socket
import struct
import subprocess
import termios
import time
from urllib.parse import urlencode, urlsplit

RECEIVE_BUFFER = 4096
CHECK_EVERY = 0.5


def open_stalled(url, origin, cookie, page):
    """Connect, send the upgrade request, read the 101 answer's head; the socket."""
    parts = urlsplit(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    sock.settimeout(30)
    sock.connect((parts.hostname, parts.port))
    key = base64.b64encode(os.urandom(16)).decode()
    target = f"{parts.path}?{urlencode({'page': page, 'since': ''})}"
    head = (
        f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Origin: {origin}\r\nCookie: {cookie}\r\n\r\n"
    )
    sock.sendall(head.encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(1)
        if not chunk:
            raise OSError("the server closed the stalled socket during the handshake")
        answer += chunk
    status = answer.split(b"\r\n", 1)[0]
    if b" 101 " not in status + b" ":
        raise OSError(f"stalled socket refused: {status.decode(errors='replace')}")
    return sock


def waiting_bytes(sock):
    """Bytes received by the kernel that this client never read."""
    raw = fcntl.ioctl(sock.fileno(), termios.FIONREAD, struct.pack("i", 0))
    return struct.unpack("i", raw)[0]


def server_side(server_port, local_port):
    """(state, Send-Q bytes, send buffer bytes) of the server's end, or (None, 0, 0)."""
    out = subprocess.run(
        [
            "ss",
            "-tnmH",
            "state",
            "all",
            "src",
            f"127.0.0.1:{server_port}",
            "dst",
            f"127.0.0.1:{local_port}",
        ],
        capture_output=True,
        text=True,
        timeout=5,
    ).stdout.split()
    if len(out) < 3:
        return None, 0, 0
    memory = next((f for f in out if f.startswith("skmem:")), "")
    sizes = dict(
        (part.rstrip("0123456789"), int(part.lstrip("abcdefghijklmnopqrstuvwxyz") or 0))
        for part in memory.removeprefix("skmem:(").rstrip(")").split(",")
        if part
    )
    return out[0], int(out[2]), sizes.get("tb", 0)


class Stall:
    """Keeps one stalled socket open on ``spec['page']`` until the deadline."""

    def __init__(self, spec, plan):
        self.spec, self.plan = spec, plan
        self.port = urlsplit(plan["url"]).port
        self.sockets = []  # per socket: opened, dropped, max waiting/send-q, samples
        self.errors = []

    async def run(self, deadline):
        while time.time() < deadline:
            try:
                sock = await asyncio.to_thread(
                    open_stalled,
                    self.plan["url"],
                    self.plan["origin"],
                    self.spec["cookie"],
                    self.spec["page"],
                )
            except OSError as exc:
                self.errors.append([time.time(), str(exc)[:200]])
                await asyncio.sleep(1)
                continue
            try:
                await self._hold(sock, deadline)
            finally:
                sock.close()

    async def _hold(self, sock, deadline):
        record = {"opened": time.time(), "dropped": None, "max_waiting": 0, "max_send_q": 0}
        record["samples"] = samples = []
        self.sockets.append(record)
        local = sock.getsockname()[1]
        while time.time() < deadline:
            await asyncio.sleep(CHECK_EVERY)
            state, send_q, buffer = await asyncio.to_thread(server_side, self.port, local)
            record["send_buffer"] = max(record.get("send_buffer", 0), buffer)
            waiting = waiting_bytes(sock)
            record["max_waiting"] = max(record["max_waiting"], waiting)
            record["max_send_q"] = max(record["max_send_q"], send_q)
            if len(samples) < 400:
                samples.append([round(time.time(), 2), state, waiting, send_q])
            self._check_full(record, samples)
            if state != "ESTAB":
                record["dropped"] = time.time()
                record["server_state"] = state
                return

    def _check_full(self, record, samples, room=128 * 1024):
        """Full: what the server queued leaves less than a push of room in its send buffer
        (its next send blocks), or the server already dropped the socket."""
        _, state, _, send_q = samples[-1]
        buffer = record.get("send_buffer", 0)
        full = buffer and send_q + room >= buffer
        if (full or state != "ESTAB") and record.get("full_at") is None:
            record["full_at"] = time.time()
            if self.spec.get("full_file"):
                with open(self.spec["full_file"], "w") as handle:
                    handle.write(f"{send_q}\n")

    def report(self):
        return {"page": self.spec["page"], "sockets": self.sockets, "errors": self.errors}
