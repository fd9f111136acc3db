"""Server-side sessions: sign-out ends them, idle and absolute limits, sign out everywhere."""

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.models import UserSession
from app.operations import sessions as ss
from app.operations.tokens import create_token
from tests.conftest import T0, login
from tests.factories import make_member, make_user, make_workspace

IDLE, LIFETIME = 600, 3600


@pytest.fixture
def owner(db):
    user = make_user()
    make_member(user, make_workspace(), "owner")
    return user


def send(app, client, method, path, **kwargs):
    """One request in a fresh app context, as in a server (``g`` and the db session are per
    request there; the test's app context would keep the signed-in user between requests)."""
    with app.app_context():
        return client.open(path, method=method, **kwargs)


def sign_in(client, user):
    data = {"email": user.email, "password": "password"}
    response = send(client.application, client, "POST", "/login", data=data)
    assert response.status_code == 302 and response.headers["Location"] == "/admin"
    return client.get_cookie("session").value


def opens_admin(app, cookie):
    """Whether a browser holding only ``cookie`` is signed in (GET /admin answers 200)."""
    browser = app.test_client()
    browser.set_cookie("session", cookie)
    response = send(app, browser, "GET", "/admin")
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/login")
        return False
    assert response.status_code == 200
    return True


def records(db, user):
    db.session.rollback()
    query = sa.select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.id)
    return db.session.scalars(query).all()


def test_sign_in_starts_a_server_side_session(app, db, owner):
    client = app.test_client()
    sign_in(client, owner)
    with client.session_transaction() as session:
        sid = session["sid"]
    [record] = records(db, owner)
    assert record.created_at == record.last_seen_at == T0 and record.ended_at is None
    assert record.sid_hash != sid and sid not in record.sid_hash  # only a hash is stored
    assert ss.session_is_live(sid, owner.id, T0)


def test_a_cookie_copied_before_sign_out_no_longer_opens_admin(app, db, owner):
    client = app.test_client()
    copied = sign_in(client, owner)
    assert opens_admin(app, copied)
    assert send(app, client, "POST", "/logout").status_code == 302
    assert not opens_admin(app, copied)
    [record] = records(db, owner)
    assert record.ended_at == T0 and record.end_reason == ss.SIGNED_OUT


def test_signing_out_one_browser_keeps_the_other(app, db, owner):
    first, second = app.test_client(), app.test_client()
    sign_in(first, owner)
    kept = sign_in(second, owner)
    send(app, first, "POST", "/logout")
    assert opens_admin(app, kept)


def test_a_forged_user_id_without_a_live_sid_is_not_signed_in(app, db, owner):
    other = make_user()
    with login(app.test_client(), other).session_transaction() as session:
        others_sid = session["sid"]
    forged = [
        {"_user_id": str(owner.id)},
        {"_user_id": str(owner.id), "_fresh": True, "sid": "made-up"},
        {"_user_id": str(owner.id), "sid": others_sid},  # another user's live session
        {"_user_id": str(owner.id), "sid": ["not", "a", "string"]},
        {"_user_id": "1", "sid": ""},
    ]
    for contents in forged:
        browser = app.test_client()
        with browser.session_transaction() as session:
            session.update(contents)
        response = send(app, browser, "GET", "/admin")
        assert response.status_code == 302, contents
        assert response.headers["Location"].startswith("/login"), contents


def _fresh_cookie(app, user):
    client = login(app.test_client(), user)
    return client.get_cookie("session").value


@pytest.mark.parametrize("offset, live", [(-1, True), (0, True), (1, False)])
def test_idle_timeout_at_the_limit_and_either_side(app, db, clock, owner, offset, live):
    app.config["SESSION_IDLE_SECONDS"] = IDLE
    cookie = _fresh_cookie(app, owner)
    clock.advance(IDLE + offset)
    assert opens_admin(app, cookie) is live


@pytest.mark.parametrize("offset, live", [(-1, True), (0, True), (1, False)])
def test_absolute_lifetime_at_the_limit_and_either_side(app, db, clock, owner, offset, live):
    app.config.update(SESSION_IDLE_SECONDS=IDLE, SESSION_MAX_SECONDS=LIFETIME)
    cookie = _fresh_cookie(app, owner)
    for _ in range(LIFETIME // (IDLE // 2) - 1):  # busy all along: never idle
        clock.advance(IDLE // 2)
        assert opens_admin(app, cookie)
    clock.set(T0)
    clock.advance(LIFETIME + offset)
    assert opens_admin(app, cookie) is live


@pytest.mark.parametrize(
    "setting, limit", [("SESSION_IDLE_SECONDS", IDLE), ("SESSION_MAX_SECONDS", LIFETIME)]
)
def test_session_is_live_at_the_limits(app, db, clock, owner, setting, limit):
    app.config.update(SESSION_IDLE_SECONDS=IDLE, SESSION_MAX_SECONDS=LIFETIME)
    app.config[setting] = limit  # the other limit stays out of the way
    if setting == "SESSION_MAX_SECONDS":
        app.config["SESSION_IDLE_SECONDS"] = 10 * LIFETIME
    sid = ss.start_session(owner, T0)
    at = clock.advance(limit)
    assert ss.session_is_live(sid, owner.id, at - timedelta(seconds=1))
    assert ss.session_is_live(sid, owner.id, at)
    assert not ss.session_is_live(sid, owner.id, clock.advance(1))


def test_session_is_live_refuses_missing_ended_and_foreign(app, db, owner):
    other = make_user()
    sid = ss.start_session(owner, T0)
    assert ss.session_is_live(sid, owner.id, T0)
    assert ss.session_is_live(sid, str(owner.id), T0)
    assert not ss.session_is_live(sid, other.id, T0)
    for missing in (None, "", "x" * 500, "unknown", 42):
        assert not ss.session_is_live(missing, owner.id, T0)
    ss.end_session(sid, T0, "test")
    assert not ss.session_is_live(sid, owner.id, T0)


def count_updates(db):
    statements = []

    def note(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("UPDATE USER_SESSIONS"):
            statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", note)
    return statements, lambda: sa.event.remove(db.engine, "before_cursor_execute", note)


def test_activity_is_written_at_most_once_a_minute(app, db, clock, owner):
    client = login(app.test_client(), owner)
    updates, stop = count_updates(db)
    try:
        for _ in range(6):  # every 10 s for a minute less a bit: no write
            clock.advance(9)
            assert send(app, client, "GET", "/admin").status_code == 200
        assert updates == [] and records(db, owner)[0].last_seen_at == T0
        clock.set(T0)
        clock.advance(60)
        assert send(app, client, "GET", "/admin").status_code == 200
        assert send(app, client, "GET", "/admin").status_code == 200
    finally:
        stop()
    assert len(updates) == 1
    assert records(db, owner)[0].last_seen_at == clock.now()


def test_touch_session_is_throttled_and_never_revives(app, db, clock, owner):
    sid = ss.start_session(owner, T0)
    ss.touch_session(sid, clock.advance(59))
    assert records(db, owner)[0].last_seen_at == T0
    ss.touch_session(sid, clock.advance(1))
    assert records(db, owner)[0].last_seen_at == clock.now()
    ss.end_session(sid, clock.now(), "test")
    ss.touch_session(sid, clock.advance(3600))
    [record] = records(db, owner)
    assert record.last_seen_at == T0 + ss.TOUCH_INTERVAL and record.end_reason == "test"
    ss.touch_session(None, clock.now())  # nothing to touch, no error


def test_end_user_sessions_ends_that_user_only(app, db, owner):
    other = make_user()
    mine = [ss.start_session(owner, T0) for _ in range(3)]
    theirs = ss.start_session(other, T0)
    ss.end_session(mine[0], T0, "signed_out")
    assert ss.end_user_sessions(owner.id, T0, "lost laptop") == 2
    assert not any(ss.session_is_live(sid, owner.id, T0) for sid in mine)
    assert ss.session_is_live(theirs, other.id, T0)
    assert [r.end_reason for r in records(db, owner)] == ["signed_out", *["lost laptop"] * 2]
    assert ss.end_user_sessions(owner.id, T0, "again") == 0


def test_cli_sign_out_everywhere(app, db, owner):
    other = make_user()
    make_member(other, make_workspace(), "owner")
    browsers = [app.test_client() for _ in range(2)]
    cookies = [sign_in(browser, owner) for browser in browsers]
    kept = sign_in(app.test_client(), other)
    workspace_token = create_token(make_workspace(), "worker", now=T0)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "sign-out-everywhere", owner.email.upper()])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "email": owner.email,
        "id": owner.id,
        "sessions_ended": 2,
    }
    assert not any(opens_admin(app, cookie) for cookie in cookies)
    assert opens_admin(app, kept)
    # API tokens are not sessions: workers keep reporting.
    bearer = {"Authorization": f"Bearer {workspace_token.secret}"}
    assert send(app, app.test_client(), "GET", "/api/v1/runs", headers=bearer).status_code == 200
    missing = runner.invoke(args=["users", "sign-out-everywhere", "nobody@example.test"])
    assert missing.exit_code == 1 and missing.stdout == ""
    assert "no user" in json.loads(missing.stderr)["error"]


def statements(db):
    seen = []

    def note(conn, cursor, statement, *args):
        seen.append(statement.lstrip().split()[0].upper())

    sa.event.listen(db.engine, "before_cursor_execute", note)
    return seen, lambda: sa.event.remove(db.engine, "before_cursor_execute", note)


def test_live_sessions_answers_as_session_is_live_for_many_at_once(app, db, owner):
    other = make_user()
    mine, theirs, ended = (ss.start_session(u, T0) for u in (owner, other, owner))
    ss.end_session(ended, T0, "test")
    keys = {(mine, owner.id), (mine, other.id), (theirs, other.id), (theirs, owner.id)}
    keys |= {(ended, owner.id), (mine, str(owner.id))}
    keys |= {(bad, owner.id) for bad in (None, "", "x" * 500, "unknown", 42)}
    keys |= {(mine, "1 OR 1=1"), (mine, None)}
    live = ss.live_sessions(keys, T0)
    assert live == {(mine, owner.id), (theirs, other.id), (mine, str(owner.id))}
    assert live == {key for key in keys if ss.session_is_live(*key, T0)}
    assert ss.live_sessions(set(), T0) == set()


def test_live_sessions_at_the_idle_limit(app, db, clock, owner):
    app.config.update(SESSION_IDLE_SECONDS=IDLE, SESSION_MAX_SECONDS=LIFETIME)
    at = T0 + timedelta(seconds=IDLE)
    for offset, live in ((-1, True), (0, True), (1, False)):
        sid = ss.start_session(owner, T0)  # each instant its own session: reading touches
        found = ss.live_sessions({(sid, owner.id)}, at + timedelta(seconds=offset))
        assert found == ({(sid, owner.id)} if live else set())


def test_live_sessions_reads_once_and_writes_only_when_activity_is_due(app, db, clock, owner):
    sids = [ss.start_session(owner, T0) for _ in range(7)]
    keys = {(sid, owner.id) for sid in sids}
    seen, stop = statements(db)
    try:
        assert len(ss.live_sessions(keys, T0 + timedelta(seconds=59), chunk=3)) == 7
        assert seen == ["SELECT"] * 3, "one read per chunk, no write within the minute"
        seen.clear()
        assert len(ss.live_sessions(keys, T0 + timedelta(seconds=60))) == 7
        assert seen == ["SELECT", "UPDATE"]
        seen.clear()
        assert len(ss.live_sessions(keys, T0 + timedelta(seconds=61))) == 7
        assert seen == ["SELECT"], "touched a second ago: nothing to write"
    finally:
        stop()
    assert {r.last_seen_at for r in records(db, owner)} == {T0 + timedelta(seconds=60)}


def test_live_sessions_never_revives_an_ended_session(app, db, clock, owner):
    sid = ss.start_session(owner, T0)
    ss.end_session(sid, T0, "test")
    assert ss.live_sessions({(sid, owner.id)}, T0 + timedelta(seconds=120)) == set()
    [record] = records(db, owner)
    assert record.last_seen_at == T0 and record.end_reason == "test"
