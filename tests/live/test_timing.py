"""The live worker's timing log: silent by default, one line per render and send when on."""

import logging
from datetime import timedelta

import pytest

from app.live import timing
from tests.conftest import T0
from tests.factories import make_run
from tests.live.conftest import Harness, _world, received


@pytest.fixture
def timing_log(tmp_path):
    path = tmp_path / "timing.log"
    yield path
    for handler in list(timing.log.handlers):
        timing.log.removeHandler(handler)
        handler.close()
    timing.log.setLevel(logging.NOTSET)
    timing.log.propagate = True


def lines(path):
    found = []
    for raw in path.read_text().splitlines() if path.exists() else ():
        kind, *parts = raw.split()
        found.append((kind, dict(p.split("=", 1) for p in parts)))
    return found


def dashboard(app, clock):
    ws, a, b, owner, op_a = _world(clock)
    run = make_run(ws, a, now=T0, age=60, heartbeat_ago=5)
    h = Harness(app)
    return h, h.open(op_a, f"/admin/t/{a.uuid}"), run


def test_without_the_setting_nothing_is_installed_or_written(app, clock, timing_log):
    assert timing.install({}) is False and timing.install({timing.ENV: ""}) is False
    assert not timing.enabled()
    h, client, run = dashboard(app, clock)
    assert h.changed(run, as_of=T0) == 1 and received(client) is not None
    assert not timing_log.exists() and not timing.log.handlers


def test_a_render_and_its_send_are_logged_with_the_same_data_instant(app, clock, timing_log):
    assert timing.install({timing.ENV: str(timing_log)}) is True
    assert timing.install({timing.ENV: str(timing_log)}) is False, "one handler per file"
    h, client, run = dashboard(app, clock)
    as_of = T0 - timedelta(microseconds=250_001)
    assert h.changed(run, as_of=as_of) == 1
    stream = received(client)
    timing.sent(client, str(stream))
    timing.sent(client, "current 0")  # not a page update: no line
    (kind, render), (sent_kind, sent) = lines(timing_log)
    assert (kind, sent_kind) == ("render", "sent")
    assert render["page"] == sent["page"] == client.watch.page
    assert float(render["as_of"]) == float(sent["as_of"]) == timing.epoch(as_of)
    taken, start, end = (float(render[k]) for k in ("taken", "start", "end"))
    assert taken <= start <= end <= float(sent["at"]) and render["n"] == "1"
    assert sent["client"] == str(client.id)
