"""Browser sessions that the server can end.

The signed cookie only carries a random session id (``sid``); the server keeps its hash with
the user, when it started, when it was last seen and when (and why) it ended. A session is
live while it has not ended, has been seen within ``SESSION_IDLE_SECONDS`` and is no older
than ``SESSION_MAX_SECONDS``; both limits are inclusive. Activity is recorded at most once
per ``TOUCH_INTERVAL`` per session, so a session can look idle up to that much early.

Every function that writes commits its own small transaction (the live layer calls them
from stream threads as well as requests).
"""

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.models import User, UserSession

TOUCH_INTERVAL = timedelta(seconds=60)
SID_BYTES = 32
MAX_SID_LENGTH = 128

SIGNED_OUT = "signed_out"
SIGNED_OUT_EVERYWHERE = "signed_out_everywhere"


def _hash(sid):
    return hashlib.sha256(sid.encode("utf-8", "replace")).hexdigest()


def _usable(sid):
    return isinstance(sid, str) and 0 < len(sid) <= MAX_SID_LENGTH


def _limits():
    config = current_app.config
    return (
        timedelta(seconds=config["SESSION_IDLE_SECONDS"]),
        timedelta(seconds=config["SESSION_MAX_SECONDS"]),
    )


def _live(record, now):
    idle, lifetime = _limits()
    return (
        record.ended_at is None
        and now - record.last_seen_at <= idle
        and now - record.created_at <= lifetime
    )


def start_session(user, now):
    """Record a new session of ``user`` started at ``now``; commit. Returns the sid to keep
    in the cookie session (only its hash is stored)."""
    sid = secrets.token_urlsafe(SID_BYTES)
    db.session.add(
        UserSession(sid_hash=_hash(sid), user_id=user.id, created_at=now, last_seen_at=now)
    )
    db.session.commit()
    return sid


def _record(sid):
    return db.session.scalar(sa.select(UserSession).where(UserSession.sid_hash == _hash(sid)))


def session_is_live(sid, user_id, now):
    """Whether ``sid`` is a live session of user ``user_id`` at ``now``: False when it is
    unknown, ended, idle past the limit, older than the lifetime or another user's."""
    if not _usable(sid):
        return False
    record = _record(sid)
    return record is not None and record.user_id == _as_id(user_id) and _live(record, now)


def load_session_user(sid, user_id, now):
    """The active User behind a live session ``sid`` of ``user_id`` at ``now``, or None.
    One statement for both rows; records the activity when due (see touch_session)."""
    if not _usable(sid) or _as_id(user_id) is None:
        return None
    row = db.session.execute(
        sa.select(User, UserSession)
        .join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.sid_hash == _hash(sid), User.id == _as_id(user_id))
    ).first()
    if row is None or not row.User.active or not _live(row.UserSession, now):
        return None
    if now - row.UserSession.last_seen_at >= TOUCH_INTERVAL:
        _touch_all([row.UserSession.sid_hash], now)
    return row.User


def touch_session(sid, now):
    """Record activity of ``sid`` at ``now``: at most one write per TOUCH_INTERVAL per
    session, none for an ended session; commits when it writes."""
    if _usable(sid):
        _touch_all([_hash(sid)], now)


def end_session(sid, now, reason=SIGNED_OUT):
    """End session ``sid`` at ``now`` for ``reason`` (a no-op if unknown or already ended);
    commit."""
    if not _usable(sid):
        return
    _end(UserSession.sid_hash == _hash(sid), now, reason)


def end_user_sessions(user_id, now, reason=SIGNED_OUT_EVERYWHERE):
    """End every open session of user ``user_id`` at ``now``; commit. Returns how many."""
    return _end(UserSession.user_id == user_id, now, reason)


def _end(condition, now, reason):
    ended = db.session.execute(
        sa.update(UserSession)
        .where(condition, UserSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return ended


def _as_id(user_id):
    text = str(user_id)
    return int(text) if text.isdigit() else None


def live_sessions(keys, now, chunk=500):
    """The (sid, user_id) pairs among ``keys`` that are live sessions of that user at
    ``now`` (as ``session_is_live``): one statement per ``chunk`` sessions, however many
    pages they hold open. Records the activity of those due as ``touch_session`` does (one
    more statement, only when some session is due); commits when it writes."""
    wanted = {}
    for sid, user_id in keys:
        if _usable(sid) and _as_id(user_id) is not None:
            wanted.setdefault(_hash(sid), set()).add((sid, user_id))
    hashes, live, due = sorted(wanted), set(), []
    columns = (UserSession.sid_hash, UserSession.user_id, UserSession.ended_at)
    columns += (UserSession.last_seen_at, UserSession.created_at)
    for start in range(0, len(hashes), chunk):
        part = hashes[start : start + chunk]
        for record in db.session.execute(sa.select(*columns).where(UserSession.sid_hash.in_(part))):
            mine = {key for key in wanted[record.sid_hash] if _as_id(key[1]) == record.user_id}
            if mine and _live(record, now):
                live |= mine
                if now - record.last_seen_at >= TOUCH_INTERVAL:
                    due.append(record.sid_hash)
    for start in range(0, len(due), chunk):
        _touch_all(due[start : start + chunk], now)
    return live


def _touch_all(sid_hashes, now):
    updated = db.session.execute(
        sa.update(UserSession)
        .where(
            UserSession.sid_hash.in_(sid_hashes),
            UserSession.ended_at.is_(None),
            UserSession.last_seen_at <= now - TOUCH_INTERVAL,
        )
        .values(last_seen_at=now)
        .execution_options(synchronize_session=False)
    )
    if updated.rowcount:
        db.session.commit()
