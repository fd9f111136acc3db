"""Template helpers for live pages: scripts, the connection-status element, transition hints."""

import hashlib
import math
from functools import cache
from pathlib import Path

from flask import current_app, url_for
from markupsafe import Markup, escape

from app.operations.clock import isoformat
from app.operations.clock import now as clock_now

STATIC = Path(__file__).resolve().parent.parent / "static"
TURBO_JS = "vendor/turbo.js"
LIVE_JS = "js/live.js"


@cache
def _version(filename):
    path = STATIC / filename
    if not path.exists():
        return "missing"
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def live_assets():
    """turbo.js (served by the app), live.js and their settings; put it in ``<head>``.

    ``data-rendered-at`` lets the socket catch up on changes made while the page was on
    its way to the browser.
    """
    config = current_app.config
    tags = [
        f'<script src="{url_for("static", filename=name, v=_version(name))}" defer></script>'
        for name in (TURBO_JS, LIVE_JS)
    ]
    settings = {
        "stream": config["LIVE_STREAM_ROUTE"],
        "rendered-at": isoformat(clock_now()),
        "poll-ms": int(config["LIVE_FALLBACK_POLL_SECONDS"] * 1000),
    }
    attributes = " ".join(f'data-{key}="{escape(value)}"' for key, value in settings.items())
    tags.append(f'<meta name="runwarden-live" {attributes}>')
    return Markup("\n".join(tags))


def live_status():
    """What live.js keeps up to date: the line "Live · updated N s ago" (not a live region:
    it changes every second) and the banner that announces a lost connection once."""
    return Markup(
        '<div id="live-banner" class="live-banner" role="alert" hidden data-turbo-permanent>'
        "<p data-live-banner-text>Connection lost</p>"
        '<button type="button" class="button" data-live-reconnect>Reconnect now</button></div>'
        '<p id="live-status" class="live-status" data-state="connecting" data-turbo-permanent>'
        "Connecting to live updates…</p>"
    )


def static_status(as_of):
    """The header line of a page that is not live, in place of ``live_status``: it claims
    no live state, only the age of the page's figures (``as_of``, an ISO instant), which
    live.js ages in the browser like every ``[data-since]`` time. Without ``#live-status``
    live.js opens no socket for the page."""
    return Markup(
        '<p id="page-age" class="live-status" data-state="static"><span>Not live · figures from '
        f'<span data-since="{escape(as_of)}">0 s</span> ago</span></p>'
    )


def transition_in_ms(*instants):
    """Milliseconds from now to the earliest of ``instants`` (None ignored), or "" if none.

    Live fragments carry it as ``data-next-transition-in-ms`` so the page refreshes the
    moment freshness changes by the passing of time alone.
    """
    upcoming = [at for at in _flatten(instants) if at is not None]
    if not upcoming:
        return ""
    delta = (min(upcoming) - clock_now()).total_seconds()
    return max(0, math.ceil(delta * 1000))


def _flatten(values):
    for value in values:
        if isinstance(value, list | tuple | set | frozenset):
            yield from _flatten(value)
        else:
            yield value
