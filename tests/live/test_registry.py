"""The push registry and each client's mailbox: latest wins, nothing blocks the sender."""

import threading
import time

from app.live.dispatch import Dispatcher
from app.live.registry import Client, LiveRegistry, Watch
from tests.live.conftest import BlockingSocket, FakeSocket, Harness, received, run_ids

PAGE = Watch("page")


def pump(client, stop=None):
    """A socket's own thread, as the serve loop runs it: take from the mailbox, send."""

    def run():
        while client.closing is None and not (stop and stop.is_set()):
            message = client.take(0.05)
            if message is not None and not client.send(message):
                return

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def until(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


def test_push_to_an_absent_user_is_a_no_op():
    registry = LiveRegistry()
    assert registry.push("<turbo-stream></turbo-stream>", to=42) == 0
    assert registry.push("x", to=[1, 2, 3]) == 0
    assert not registry.can_push()
    assert not registry.can_push(42)


def test_push_queues_for_every_socket_of_a_user_and_only_them():
    registry = LiveRegistry()
    mine = [registry.connect(FakeSocket(), 7, PAGE, None) for _ in range(2)]
    other = registry.connect(FakeSocket(), 8, PAGE, None)

    assert registry.push(["<a>", "<b>"], to=7) == 2

    assert [received(c) for c in mine] == ["<a><b>", "<a><b>"]
    assert received(other) is None
    assert all(c.ws.sent == [] for c in mine), "queued only: the socket's thread sends"
    assert registry.can_push(7) and registry.can_push(8) and not registry.can_push(9)
    assert set(registry.clients) == {7, 8}


def _of_session(registry, session_key):
    return sum(1 for client in registry.snapshot() if client.session_key == session_key)


def test_disconnect_twice_and_count_per_session():
    registry = LiveRegistry()
    client = registry.connect(FakeSocket(), 1, PAGE, None, session_key="s1")
    registry.connect(FakeSocket(), 1, PAGE, None, session_key="s1")
    registry.connect(FakeSocket(), 2, PAGE, None, session_key="s2")
    assert (len(registry), _of_session(registry, "s1"), _of_session(registry, "s2")) == (3, 2, 1)

    registry.disconnect(client)
    registry.disconnect(client)
    assert len(registry) == 2 and _of_session(registry, "s1") == 1


def test_stream_targets_are_escaped():
    registry = LiveRegistry()
    stream = registry.replace("<p>ok</p>", 'x" onmouseover="alert(1)')
    assert 'target="x&#34; onmouseover=&#34;alert(1)"' in stream
    assert "<template><p>ok</p></template>" in stream
    assert 'targets=".run-row"' in registry.update("", ".run-row", multiple=True)


def test_the_mailbox_keeps_only_the_latest_page():
    client = Client(FakeSocket(), 1, PAGE, None)
    client.offer("first")
    client.offer("second")
    assert client.pending
    assert client.take(0) == "second"
    assert not client.pending and client.take(0) is None


def test_take_times_out_and_wakes_on_an_offer():
    client = Client(FakeSocket(), 1, PAGE, None)
    began = time.monotonic()
    assert client.take(0.05) is None
    assert time.monotonic() - began >= 0.05

    threading.Timer(0.02, client.offer, ("news",)).start()
    began = time.monotonic()
    assert client.take(10) == "news"
    assert time.monotonic() - began < 5


def test_end_wakes_the_socket_thread_after_the_pending_page():
    client = Client(FakeSocket(), 1, PAGE, None)
    client.offer("last page")
    client.end("revoked gone")
    assert client.take(10) == "last page"
    began = time.monotonic()
    assert client.take(10) is None and client.closing == "revoked gone"
    assert time.monotonic() - began < 1


def test_send_reports_a_dropped_socket():
    client = Client(FakeSocket(), 1, PAGE, None)
    assert client.send("x") and client.ws.sent == ["x"]
    client.ws.close()
    assert client.send("y") is False
    assert client.send_started is None and client.stuck_for(time.monotonic()) == 0.0


def test_a_stuck_client_never_delays_the_others():
    registry = LiveRegistry()
    stuck = registry.connect(BlockingSocket(), 0, PAGE, None)
    others = [registry.connect(FakeSocket(), n, PAGE, None) for n in range(1, 101)]
    stop = threading.Event()
    threads = [pump(c, stop) for c in [stuck, *others]]
    stuck.offer("hello")
    assert stuck.ws.entered.wait(5), "the stuck client is blocked in its own send"

    began = time.monotonic()
    assert registry.send([stuck, *others], "update") == 101
    assert time.monotonic() - began < 0.5
    until(lambda: all(c.ws.sent == ["update"] for c in others))
    assert stuck.ws.sent == [] and stuck.pending

    stop.set()
    stuck.ws.release.set()
    for thread in threads:
        thread.join(5)


def test_process_is_not_delayed_by_a_client_that_stopped_reading(app, world):
    h = Harness(app)
    stuck = h.open(world.owner, "/admin", ws=BlockingSocket())
    others = [h.open(world.owner, "/admin") for _ in range(100)]
    stop = threading.Event()
    threads = [pump(c, stop) for c in [stuck, *others]]
    stuck.offer("an earlier page")
    assert stuck.ws.entered.wait(5)

    began = time.monotonic()
    h.changed(world.runs.fresh)
    elapsed = time.monotonic() - began

    assert elapsed < 5, f"process() took {elapsed:.2f} s"
    assert h.dispatcher.renders == 1
    until(lambda: all(len(c.ws.sent) == 1 for c in others))
    assert world.runs.fresh.id in run_ids(others[0].ws.sent[0])
    assert len({c.ws.sent[0] for c in others}) == 1
    stop.set()
    stuck.ws.release.set()
    for thread in threads:
        thread.join(5)


def test_keep_aborts_a_stuck_send_after_the_timeout_and_not_before():
    registry = LiveRegistry()
    dispatcher = Dispatcher(None, registry)
    stuck = registry.connect(BlockingSocket(), 1, PAGE, None)
    reading = registry.connect(FakeSocket(), 2, PAGE, None)
    thread = pump(stuck)
    stuck.offer("page")
    assert stuck.ws.entered.wait(5)
    timeout = 0.1

    dispatcher.keep(5.0)  # stuck for less than the timeout: kept
    assert stuck.stuck_for(time.monotonic()) < 5.0
    assert stuck.closing is None and not stuck.ws.sock.shut

    until(lambda: stuck.stuck_for(time.monotonic()) > timeout)
    dispatcher.keep(timeout)
    assert stuck.ws.sock.shut and stuck.closing == "dropped"
    thread.join(5)
    assert not thread.is_alive(), "the blocked send failed and the socket's thread ended"
    assert reading.closing is None


def test_concurrent_connect_disconnect_and_broadcast_stay_consistent():
    registry = LiveRegistry()
    steady = [registry.connect(FakeSocket(), n, PAGE, None) for n in range(5)]
    errors = []
    start = threading.Barrier(8)
    rounds = 300

    def churn(user_id):
        try:
            start.wait()
            for _ in range(400):
                client = registry.connect(FakeSocket(), user_id, PAGE, None)
                time.sleep(0)
                registry.disconnect(client)
        except Exception as exc:  # pragma: no cover - the assertion reports it
            errors.append(exc)

    def broadcast(name):
        try:
            start.wait()
            for n in range(rounds):
                registry.push(f"{name}:{n}")
                registry.push(f"{name}:to:{n}", to=[0, 1, 2, 3, 4, 999])
        except Exception as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=churn, args=(100 + i,)) for i in range(5)]
    threads += [threading.Thread(target=broadcast, args=(name,)) for name in "abc"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(registry) == len(steady)
    last = {f"{name}:to:{rounds - 1}" for name in "abc"}
    assert all(received(c) in last for c in steady), "the newest page wins"


def test_only_the_socket_s_thread_writes_and_each_sender_s_order_holds():
    class Watchful(FakeSocket):
        inside = 0
        overlaps = 0

        def send(self, text):
            Watchful.inside += 1
            if Watchful.inside > 1:
                Watchful.overlaps += 1
            time.sleep(0)
            super().send(text)
            Watchful.inside -= 1

    registry = LiveRegistry()
    client = registry.connect(Watchful(), 1, PAGE, None)
    stop = threading.Event()
    socket_thread = pump(client, stop)
    senders = [
        threading.Thread(target=lambda n=n: [registry.push(f"{n}:{i}") for i in range(500)])
        for n in range(4)
    ]
    for thread in senders:
        thread.start()
    for thread in senders:
        thread.join()
    until(lambda: not client.pending)
    stop.set()
    socket_thread.join(5)

    assert Watchful.overlaps == 0
    assert client.ws.sent
    for n in range(4):
        mine = [int(m.split(":")[1]) for m in client.ws.sent if m.startswith(f"{n}:")]
        assert mine == sorted(mine)


def test_turbo_helper_never_points_at_a_cdn(app):
    with app.test_request_context("/"):
        markup = str(LiveRegistry().turbo())
    assert "cdn" not in markup.lower() and "jsdelivr" not in markup
    assert "/static/vendor/turbo.js" in markup
    assert "/static/js/live.js" in markup
