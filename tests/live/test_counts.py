"""The likely stale count in the title of a page about one tenant or run stays current
(``count <N>``) when a run it does not show changes, by a report or by time alone, and
only ever for the runs its viewer may see."""

import re
from datetime import timedelta

from app.live.counts import PREFIX
from app.live.registry import Client
from app.operations.freshness import TICK, freshness
from app.operations.lifecycle import complete_run
from tests.conftest import T0
from tests.factories import make_run
from tests.live.conftest import FakeSocket, Harness, received

MIN = 60
COUNT = re.compile(r'data-stale-count="([^"]*)"')


def _opened(h, user, page):
    """A socket on ``page``, caught up: (client, the count its first push carries)."""
    client = h.open(user, page)
    h.dispatcher.catch_up(client, None)
    h.dispatcher.process()
    return client, COUNT.search(received(client)).group(1)


def _messages(client):
    found = []
    while (message := received(client)) is not None:
        found.append(message)
    return found


def test_a_run_going_quiet_elsewhere_changes_the_count_of_a_detail_page(app, world, clock):
    quiet = make_run(world.ws, world.a, now=T0, age=2 * MIN, heartbeat_ago=5 * MIN - 10)
    make_run(world.ws, world.b, now=T0, age=2 * MIN, heartbeat_ago=5 * MIN - 10)
    h = Harness(app)
    owner, owner_count = _opened(h, world.owner, f"/admin/operations/{world.runs.fresh.id}")
    viewer, viewer_count = _opened(h, world.viewer, f"/admin/operations/{world.runs.fresh.id}")
    due = T0 + timedelta(seconds=10) + TICK
    assert freshness(quiet, app.extensions["runwarden.policy"], T0).next_transition_at == due

    clock.set(due - TICK)
    h.dispatcher.process()
    assert _messages(owner) == [] and _messages(viewer) == []
    clock.set(due)
    h.dispatcher.process()
    # both quiet runs are likely stale now; the viewer sees tenant a only
    assert _messages(owner) == [f"{PREFIX}{int(owner_count) + 2}"]
    assert _messages(viewer) == [f"{PREFIX}{int(viewer_count) + 1}"]


def test_a_report_on_another_tenant_changes_the_count_of_a_tenant_dashboard(app, world, clock, db):
    h = Harness(app)
    owner, before = _opened(h, world.owner, f"/admin/t/{world.a.uuid}")
    viewer, _ = _opened(h, world.viewer, f"/admin/t/{world.a.uuid}")
    stale_b = world.runs.b_stale  # tenant b, likely stale: it completes
    complete_run(stale_b, outcome="succeeded", now=clock.now(), actor="worker")
    h.changed(stale_b)
    assert _messages(owner) == [f"{PREFIX}{int(before) - 1}"]
    assert _messages(viewer) == [], "a change to a tenant it may not see tells it nothing"


def test_a_wide_page_carries_its_count_in_its_renders_only(app, world, clock, db):
    h = Harness(app)
    overview, before = _opened(h, world.owner, "/admin")
    complete_run(world.runs.b_stale, outcome="succeeded", now=clock.now(), actor="worker")
    h.changed(world.runs.b_stale)
    (pushed,) = _messages(overview)
    assert COUNT.search(pushed).group(1) == str(int(before) - 1)


def test_a_page_update_supersedes_a_count_not_yet_sent():
    client = Client(FakeSocket(), 1, None, None)
    client.offer_count(PREFIX + "3")
    client.offer("<turbo-stream page>")
    assert _messages(client) == ["<turbo-stream page>"]
    client.offer("<turbo-stream page>")
    client.offer_count(PREFIX + "4")
    assert _messages(client) == ["<turbo-stream page>", PREFIX + "4"]
    client.end("revoked bye")
    client.offer_count(PREFIX + "5")
    assert _messages(client) == []


def test_a_new_socket_hears_a_count_that_moved_after_its_page_was_read(app, world, clock, db):
    h = Harness(app)
    first, before = _opened(h, world.owner, f"/admin/t/{world.a.uuid}")
    read_at = clock.advance(1)  # a second dashboard is read here, its socket opens later
    clock.advance(1)
    complete_run(world.runs.b_stale, outcome="succeeded", now=clock.now(), actor="worker")
    h.changed(world.runs.b_stale)
    assert _messages(first) == [f"{PREFIX}{int(before) - 1}"]
    late = h.open(world.owner, f"/admin/t/{world.a.uuid}")
    h.dispatcher.catch_up(late, read_at)
    assert _messages(late) == [f"{PREFIX}{int(before) - 1}"]
    current = h.open(world.owner, f"/admin/t/{world.a.uuid}")
    h.dispatcher.catch_up(current, clock.now())
    assert _messages(current) == [], "its page already shows that count"
