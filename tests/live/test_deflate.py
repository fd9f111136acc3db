"""A push is deflated once for every socket it goes to, and every client can inflate it."""

import time
import zlib
from contextlib import ExitStack

from websockets.sync.client import connect
from wsproto.extensions import PerMessageDeflate
from wsproto.frame_protocol import Opcode, RsvBits

from app.live import deflate
from app.live.deflate import SharedDeflate, compressed
from tests.live.conftest import _cookie, _new_run, _world, run_ids

TAIL = b"\x00\x00\xff\xff"


class Proto:
    def __init__(self, client):
        self.client = client


def server_frame(extension, text):
    rsv, data = extension.frame_outbound(
        Proto(False), Opcode.TEXT, RsvBits(False, False, False), text, True
    )
    assert rsv.rsv1, "marked compressed"
    return data


def test_a_message_is_deflated_once_and_inflates_back():
    text = ("<turbo-stream>" + "row " * 20_000 + "</turbo-stream>").encode()
    before = dict(deflate.stats)
    first = server_frame(SharedDeflate(), text)
    second = server_frame(SharedDeflate(), bytes(text))  # another socket, its own bytes
    assert first == second and len(first) < len(text) // 10
    assert deflate.stats["compressed"] == before["compressed"] + 1
    assert deflate.stats["shared"] == before["shared"] + 1
    assert zlib.decompressobj(-15).decompress(first + TAIL) == text


def test_a_client_keeping_its_context_inflates_fresh_messages_after_older_ones():
    """The client's inflater carries its window across messages (context takeover): a
    message that refers to nothing before it is valid in that stream, in any order."""
    inflater = zlib.decompressobj(-15)
    plain = PerMessageDeflate()
    messages = [f"page {n} ".encode() * 3000 for n in range(4)]
    for n, text in enumerate(messages):
        if n % 2:
            frame = server_frame(SharedDeflate(), text)
        else:
            _, frame = plain.frame_outbound(
                Proto(False), Opcode.TEXT, RsvBits(False, False, False), text, True
            )
        assert inflater.decompress(frame + TAIL) == text


def test_a_small_message_goes_uncompressed_and_leaves_the_cache_alone():
    """``current <ms>`` goes to every open page every couple of seconds: sent plain (RSV1
    clear, allowed by RFC 7692), it needs no compressor and evicts no shared push."""
    push = ("<turbo-stream>" + "row " * 500 + "</turbo-stream>").encode()
    server_frame(SharedDeflate(), push)
    before = dict(deflate.stats)
    for n in range(deflate.CACHE_ENTRIES + 10):
        text = f"current {n}".encode()
        rsv, data = SharedDeflate().frame_outbound(
            Proto(False), Opcode.TEXT, RsvBits(False, False, False), text, True
        )
        assert not rsv.rsv1 and data == text
    assert deflate.stats["plain"] == before["plain"] + deflate.CACHE_ENTRIES + 10
    assert deflate.stats["compressed"] == before["compressed"]
    server_frame(SharedDeflate(), push)
    assert deflate.stats["shared"] == before["shared"] + 1, "the push is still cached"


def test_the_size_limit_is_exact():
    below = b"x" * (deflate.PLAIN_BELOW - 1)
    at = b"x" * deflate.PLAIN_BELOW
    frame = SharedDeflate().frame_outbound
    assert not frame(Proto(False), Opcode.TEXT, RsvBits(False, False, False), below, True)[0].rsv1
    assert frame(Proto(False), Opcode.TEXT, RsvBits(False, False, False), at, True)[0].rsv1


def test_the_window_the_client_asked_for_is_kept():
    narrow = compressed(b"x" * 5000 + b"y" * 5000, 9)
    assert zlib.decompressobj(-9).decompress(narrow + TAIL) == b"x" * 5000 + b"y" * 5000


def test_the_cache_keeps_only_recent_pushes():
    for n in range(deflate.CACHE_ENTRIES + 10):
        compressed(f"push {n}".encode(), 15)
    assert len(deflate._cache) <= deflate.CACHE_ENTRIES


def browser_like(base, cookie, page):
    """A client that offers permessage-deflate as browsers do (simple_websocket's does not)."""
    return connect(
        f"{base}/live/stream?page={page}",
        additional_headers={"Cookie": f"session={cookie}"},
        compression="deflate",
        open_timeout=10,
    )


def test_sockets_on_one_page_share_one_compression_over_real_sockets(served, clock):  # noqa: F811
    app, base = served
    ws, a, b, owner, op_a = _world(clock)
    cookie = _cookie(app, op_a)[0]
    with ExitStack() as stack:
        page = f"/admin/t/{a.uuid}"
        sockets = [stack.enter_context(browser_like(base, cookie, page)) for _ in range(3)]
        for socket in sockets:
            assert socket.recv(timeout=5).startswith(("current", "stale")), "inflated or plain"
            until_page(socket, None)  # its catch-up: this page since it was opened
            assert socket.response.headers["Sec-WebSocket-Extensions"].startswith(
                "permessage-deflate"
            )
        before = dict(deflate.stats)

        run = _new_run(ws, a, clock)

        pages = {until_page(socket, run.id) for socket in sockets}
        assert len(pages) == 1, "the same page for the three, inflated by each"
        assert deflate.stats["shared"] >= before["shared"] + 2


def until_page(socket, run_id, timeout=5):
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        message = socket.recv(timeout=remaining)
        if message.startswith("<turbo-stream") and (run_id is None or run_id in run_ids(message)):
            return message
    raise AssertionError("no page update arrived")
