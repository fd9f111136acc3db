"""Two sender processes on one PostgreSQL database: each event reaches each channel once.

Two real OS processes (``flask channels send --for``) tick at once against the test
database while this test keeps failing runs. A local HTTP receiver takes a moment per
request and answers each delivery's first attempt with 500, so retries fall due together
and both processes reach for them while others are still being sent.
Each process runs in its own session and is killed at the end if it is still alive.
"""

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug import Response

from app.models import NotificationEvent
from app.notifications.transports import DELIVERY_HEADER
from app.operations.lifecycle import complete_run
from tests.conftest import require_postgres
from tests.factories import make_run
from tests.notifications.conftest import add_channel, received

ROOT = Path(__file__).resolve().parents[2]
FLASK = str(Path(sys.executable).parent / "flask")
SENDING_SECONDS = 12
WAVES = 6
RECEIVER_DELAY = 0.05


class Receiver:
    """Answers 500 to the first attempt of each delivery, 200 after; keeps what it accepted."""

    def __init__(self):
        self.attempted, self.accepted = Counter(), []

    def __call__(self, request):
        time.sleep(RECEIVER_DELAY)
        delivery = request.headers[DELIVERY_HEADER]
        self.attempted[delivery] += 1
        if self.attempted[delivery] == 1:
            return Response("try again", status=500)
        self.accepted.append(request)
        return Response("ok")


def _real_now():
    """The senders run on the system clock, so the test's runs are dated by it too."""
    return datetime.now(UTC).replace(tzinfo=None)


def _start(tmp_path, name, url):
    env = dict(
        os.environ,
        DATABASE_URL=url,
        SECRET_KEY="process-test-secret",
        RUNWARDEN_RECONCILER="off",
        NOTIFICATIONS_GROUP_SECONDS="0.5",
        NOTIFICATIONS_RETRY_BASE_SECONDS="1",
        PYTHONUNBUFFERED="1",
    )
    argv = [FLASK, "--app", "wsgi", "channels", "send", "--for", str(SENDING_SECONDS)]
    with (tmp_path / f"{name}.err").open("w") as err, (tmp_path / f"{name}.out").open("w") as out:
        proc = subprocess.Popen(
            argv + ["--every", "0.2"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
    proc.name = name
    return proc


def _finish(procs, tmp_path, timeout):
    """Each process's printed summary; fails (after killing them) past ``timeout``."""
    ends = time.monotonic() + timeout
    try:
        for proc in procs:
            proc.wait(max(0.1, ends - time.monotonic()))
    except subprocess.TimeoutExpired:
        pytest.fail("a sender process did not finish in time")
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
    summaries = []
    for proc in procs:
        err = (tmp_path / f"{proc.name}.err").read_text()
        assert proc.returncode == 0, err
        summaries.append(json.loads((tmp_path / f"{proc.name}.out").read_text()))
    return summaries


def _expected(channel_spec, events):
    kinds, tenant = channel_spec
    return Counter(
        (kind, run_id) for kind, run_id, t in events if kind in kinds and tenant in (None, t)
    )


def _got(bodies):
    return Counter((e["kind"], e["run_id"]) for b in bodies for e in b["events"])


# Two processes, row locks (FOR UPDATE SKIP LOCKED) and claims: PostgreSQL only.
@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_two_sender_processes_deliver_each_event_once_per_channel(
    app, db, space, clock, httpserver, tmp_path
):
    url = require_postgres()
    specs = {
        "/all": (("stale", "failed"), None),
        "/contoso": (("stale", "failed"), space.contoso.id),
        "/failed": (("failed",), None),
    }
    receiver = Receiver()
    for path in specs:
        httpserver.expect_request(path, method="POST").respond_with_handler(receiver)
    channels = {
        path: add_channel(
            space,
            clock,
            httpserver.url_for(path),
            events=list(kinds),
            tenant_ids=[tenant] if tenant else None,
            name=path,
        )
        for path, (kinds, tenant) in specs.items()
    }
    events = []
    # Already past their stale deadline (report_export: running_stale 1200 s): by time alone.
    for n in range(20):
        tenant = space.contoso if n % 2 else space.fabrikam
        run = make_run(space.ws, tenant, now=_real_now(), type="report_export", age=1300)
        events.append(("stale", run.id, tenant.id))
    db.session.commit()

    procs = [_start(tmp_path, name, url) for name in ("first", "second")]
    for _ in range(WAVES):  # failures keep coming while both processes tick
        for n in range(5):
            tenant = space.contoso if n % 2 else space.fabrikam
            run = make_run(space.ws, tenant, now=_real_now(), type="inventory_sync")
            complete_run(run, outcome="failed", now=_real_now(), actor="worker")
            events.append(("failed", run.id, tenant.id))
        time.sleep(0.5)
    summaries = _finish(procs, tmp_path, timeout=SENDING_SECONDS + 30)

    assert all(s["errors"] == [] for s in summaries)
    accepted = 0
    for path, spec in specs.items():
        bodies = received_on(receiver, path, channels[path])
        assert all(b["omitted"] == 0 for b in bodies)  # every event of a message is listed
        assert _got(bodies) == _expected(spec, events), path
        assert len({b["delivery_id"] for b in bodies}) == len(bodies), path
        accepted += len(bodies)
    assert set(receiver.attempted.values()) == {2}  # refused once, accepted once: no resend
    assert sum(s["sent"] for s in summaries) == accepted
    assert sum(s["stale"] for s in summaries) == 20  # each stale event written by one
    assert sum(s["retrying"] for s in summaries) == accepted
    stale = db.session.scalars(
        sa.select(NotificationEvent.run_id).where(NotificationEvent.kind == "stale")
    ).all()
    assert sorted(stale) == sorted(run_id for kind, run_id, _ in events if kind == "stale")


def received_on(receiver, path, channel):
    """Bodies accepted on ``path``, each signature verified with ``channel``'s secret."""

    class Only:
        log = [(request, None) for request in receiver.accepted if request.path == path]

    return received(Only, channel)
