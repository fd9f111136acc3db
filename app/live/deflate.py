"""permessage-deflate compressed once per push, not once per socket.

Every member of a render group is sent the same text. With the library's own extension each
socket deflates it again through its own compressor (and keeps that compressor, about
256 KiB, for the life of the socket). Here the server side compresses each whole message
with a fresh compressor instead: context takeover is a permission the client grants, not an
obligation (RFC 7692, 7.1.1), so a message that refers to nothing before it is valid for
every client, and its compressed bytes depend on the text alone. They are kept in a small
shared cache, so a push to 100 sockets is deflated once. Receiving and the client side are
the library's own.

Messages under ``PLAIN_BELOW`` bytes (the ``current <ms>`` confirmations every open page
gets every couple of seconds, ``stale``, ``revoked ...``) go uncompressed: the extension
lets a sender leave any message uncompressed (RSV1 clear, RFC 7692, 6), deflating a few
bytes saves nothing, and a fresh compressor for each of them would cost more CPU than
everything else an idle page costs and push the shared pushes out of the cache.

``install()`` makes simple_websocket's server handshake accept this extension in place of
its plain ``PerMessageDeflate`` (the module looks the name up at each handshake).
"""

import threading
import zlib
from collections import OrderedDict

import simple_websocket.ws as simple_ws
from wsproto.extensions import PerMessageDeflate
from wsproto.frame_protocol import Opcode, RsvBits

CACHE_ENTRIES = 64  # distinct pushes kept; a sweep sends one per render group
PLAIN_BELOW = 256  # bytes: smaller messages are sent uncompressed
_cache = OrderedDict()
_lock = threading.Lock()
stats = {"compressed": 0, "shared": 0, "plain": 0}


def compressed(data, bits):
    """``data`` deflated as one message with a fresh compressor (window ``bits``), without
    the final empty block's 4 bytes, as permessage-deflate sends it; shared between callers
    (sockets sending the same push at the same time wait for one compression)."""
    key = (bits, data)
    with _lock:
        entry = _cache.get(key)
        if entry is None:
            entry = _cache[key] = _Entry()
            while len(_cache) > CACHE_ENTRIES:
                _cache.popitem(last=False)
        else:
            _cache.move_to_end(key)
    return entry.value(data, bits)


class _Entry:
    def __init__(self):
        self._lock = threading.Lock()
        self._value = None

    def value(self, data, bits):
        with self._lock:
            if self._value is None:
                compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -bits)
                self._value = (compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]
                _count("compressed")
            else:
                _count("shared")
            return self._value


def _count(name):
    with _lock:
        stats[name] += 1


class SharedDeflate(PerMessageDeflate):
    """PerMessageDeflate whose server side deflates each whole message on its own."""

    def frame_outbound(self, proto, opcode, rsv, data, fin):
        if proto.client or not fin or opcode not in (Opcode.TEXT, Opcode.BINARY):
            return super().frame_outbound(proto, opcode, rsv, data, fin)
        if self._compressor is not None:  # after a fragmented message: keep its stream
            return super().frame_outbound(proto, opcode, rsv, data, fin)
        if len(data) < PLAIN_BELOW:
            _count("plain")
            return rsv, bytes(data)
        rsv = RsvBits(True, rsv[1], rsv[2])
        return rsv, compressed(bytes(data), int(self.server_max_window_bits))


def install():
    """Use SharedDeflate in every simple_websocket server handshake from now on."""
    simple_ws.PerMessageDeflate = SharedDeflate
