"""The push registry under concurrent connects, disconnects and broadcasts."""

import threading
import time

from app.live.registry import LiveRegistry, Watch
from tests.live.conftest import FakeSocket

PAGE = Watch("page")


def test_push_to_an_absent_user_is_a_no_op():
    registry = LiveRegistry()
    assert registry.push("<turbo-stream></turbo-stream>", to=42) == 0
    assert registry.push("x", to=[1, 2, 3]) == 0
    assert not registry.can_push()
    assert not registry.can_push(42)


def test_push_reaches_every_socket_of_a_user_and_only_them():
    registry = LiveRegistry()
    mine = [FakeSocket(), FakeSocket()]
    other = FakeSocket()
    for ws in mine:
        registry.connect(ws, 7, PAGE, None)
    registry.connect(other, 8, PAGE, None)

    assert registry.push(["<a>", "<b>"], to=7) == 2

    assert [ws.sent for ws in mine] == [["<a><b>"], ["<a><b>"]]
    assert other.sent == []
    assert registry.can_push(7) and registry.can_push(8) and not registry.can_push(9)
    assert set(registry.clients) == {7, 8}


def test_disconnect_twice_and_dead_sockets_are_dropped():
    registry = LiveRegistry()
    alive, dead = FakeSocket(), FakeSocket()
    client = registry.connect(alive, 1, PAGE, None)
    registry.connect(dead, 2, PAGE, None)
    dead.close()

    assert registry.push("x") == 1
    assert len(registry) == 1

    registry.disconnect(client)
    registry.disconnect(client)
    assert len(registry) == 0


def test_stream_targets_are_escaped():
    registry = LiveRegistry()
    stream = registry.replace("<p>ok</p>", 'x" onmouseover="alert(1)')
    assert 'target="x&#34; onmouseover=&#34;alert(1)"' in stream
    assert "<template><p>ok</p></template>" in stream
    assert 'targets=".run-row"' in registry.update("", ".run-row", multiple=True)


class YieldingSocket(FakeSocket):
    """Gives up the GIL inside send, as real socket I/O does."""

    def send(self, text):
        time.sleep(0)
        super().send(text)


def test_concurrent_connect_disconnect_and_broadcast_lose_nothing():
    registry = LiveRegistry()
    steady = [YieldingSocket() for _ in range(5)]
    for index, ws in enumerate(steady):
        registry.connect(ws, index, PAGE, None)
    errors = []
    start = threading.Barrier(8)
    broadcasts_per_thread = 300

    def churn(user_id):
        try:
            start.wait()
            for _ in range(400):
                client = registry.connect(YieldingSocket(), user_id, PAGE, None)
                time.sleep(0)
                registry.disconnect(client)
        except Exception as exc:  # pragma: no cover - the assertion reports it
            errors.append(exc)

    def broadcast(name):
        try:
            start.wait()
            for n in range(broadcasts_per_thread):
                registry.push(f"{name}:{n}")
                registry.push(f"{name}:to:{n}", to=[0, 1, 2, 3, 4, 999])
        except Exception as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=churn, args=(100 + i,)) for i in range(5)]
    threads += [threading.Thread(target=broadcast, args=(name,)) for name in ("a", "b", "c")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(registry) == len(steady)
    for ws in steady:
        assert len(ws.sent) == 3 * 2 * broadcasts_per_thread
        for name in ("a", "b", "c"):
            mine = [m for m in ws.sent if m.startswith(f"{name}:") and ":to:" not in m]
            assert mine == [f"{name}:{n}" for n in range(broadcasts_per_thread)]


def test_sends_to_one_socket_never_interleave():
    class Watchful(FakeSocket):
        inside = 0
        overlaps = 0

        def send(self, text):
            Watchful.inside += 1
            if Watchful.inside > 1:
                Watchful.overlaps += 1
            for _ in range(50):
                pass
            super().send(text)
            Watchful.inside -= 1

    registry = LiveRegistry()
    ws = Watchful()
    registry.connect(ws, 1, PAGE, None)
    threads = [
        threading.Thread(target=lambda: [registry.push(str(n)) for n in range(500)])
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Watchful.overlaps == 0
    assert len(ws.sent) == 2000


def test_turbo_helper_never_points_at_a_cdn(app):
    from app.live import init_live

    init_live(app)
    with app.test_request_context("/"):
        markup = str(LiveRegistry().turbo())
    assert "cdn" not in markup.lower() and "jsdelivr" not in markup
    assert "/static/vendor/turbo.js" in markup
    assert "/static/js/live.js" in markup
