"""Owners see on the overview when the reconciler itself looks stale; others do not."""

from datetime import timedelta

from app.extensions import db as _db
from app.models import ReconcilerPass
from tests.conftest import T0, login


def _pass(finished_ago):
    finished = T0 - timedelta(seconds=finished_ago)
    _db.session.add(
        ReconcilerPass(
            started_at=finished - timedelta(seconds=1),
            finished_at=finished,
            holder="test",
            scanned=0,
            reconciled=0,
            skipped=0,
            error_count=0,
        )
    )
    _db.session.commit()


def _warning(client):
    return "data-reconciler-warning" in client.get("/admin").get_data(as_text=True)


def test_owner_sees_warning_when_no_pass_for_several_intervals(app, client, world):
    app.config["RUNWARDEN_RECONCILER"] = "embedded"
    interval = app.config["RECONCILER_INTERVAL_SECONDS"]
    login(client, world.owner)
    assert _warning(client)  # never ran
    _pass(finished_ago=interval)
    assert not _warning(client)
    for ago, expected in ((3 * interval, False), (3 * interval + 1, True)):
        _db.session.query(ReconcilerPass).delete()
        _pass(finished_ago=ago)
        assert _warning(client) is expected


def test_viewer_never_sees_the_reconciler_warning(app, client, world):
    app.config["RUNWARDEN_RECONCILER"] = "embedded"
    login(client, world.viewer)
    assert not _warning(client)


def test_no_warning_when_the_reconciler_is_off(app, client, world):
    login(client, world.owner)
    assert not _warning(client)
