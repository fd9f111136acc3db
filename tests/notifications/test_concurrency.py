"""Two senders at once on PostgreSQL: every event reaches each channel exactly once."""

import threading
from collections import Counter
from types import SimpleNamespace

import pytest

from app.notifications.sender import run_tick
from app.operations.lifecycle import complete_run
from tests.factories import make_run
from tests.notifications.conftest import add_channel, received


def _sender(app, errors, barrier):
    with app.app_context():
        try:
            barrier.wait(10)
            run_tick()
        except Exception as exc:  # reported by the test, never swallowed
            errors.append(exc)


# Row locks (SKIP LOCKED) are what is under test: PostgreSQL only.
@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_two_senders_deliver_each_event_once_per_channel(app, db, space, clock, httpserver):
    paths = ["/a", "/b", "/c"]
    for path in paths:
        httpserver.expect_request(path).respond_with_data("ok")
    channels = [
        SimpleNamespace(
            signing_secret=add_channel(space, clock, httpserver.url_for(p), name=p).signing_secret
        )
        for p in paths
    ]
    runs = []
    for n in range(40):
        tenant = space.contoso if n % 2 else space.fabrikam
        run = make_run(space.ws, tenant, now=clock.now(), type="inventory_sync")
        complete_run(run, outcome="failed", now=clock.now(), actor="worker")
        runs.append(run.id)
        if n % 10 == 9:
            clock.advance(seconds=1)
            for _ in range(2):  # two senders race through the same tick
                errors, barrier = [], threading.Barrier(2)
                threads = [
                    threading.Thread(target=_sender, args=(app, errors, barrier)) for _ in range(2)
                ]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(30)
                assert errors == []
                clock.advance(seconds=2)
    db.session.remove()
    for channel, path in zip(channels, paths, strict=True):
        bodies = received_for(httpserver, path, channel)
        seen = Counter(e["run_id"] for b in bodies for e in b["events"])
        assert sorted(seen) == sorted(runs), path
        assert set(seen.values()) == {1}, path
        assert len({b["delivery_id"] for b in bodies}) == len(bodies)


def received_for(httpserver, path, channel):
    """Bodies sent to ``path``, signatures checked with ``channel``'s secret."""

    class Only:
        log = [(req, resp) for req, resp in httpserver.log if req.path == path]

    return received(Only, channel)
