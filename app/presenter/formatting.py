"""Small text helpers: durations, clock times and relative times.

Absolute times have one format everywhere: "14:32 UTC" today, "Nov 27 14:32 UTC" on
another day, "Nov 27 2025 14:32 UTC" in another year; the exact instant adds the seconds
and always the year. Pages render them in UTC inside ``<time data-abs>`` elements, and
the browser (js/times.js) rewrites them in the zone the reader chose.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from markupsafe import Markup, escape

from app.humanize import DAY, HOUR, MINUTE, duration, window  # noqa: F401 (re-exported)
from app.operations.clock import isoformat

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def clock_time(at, now):
    """The clock time, 14:32 UTC, with the date (Nov 27 14:32 UTC) when not today and
    the year (Nov 27 2025 14:32 UTC) when not this year."""
    if at is None:
        return None
    hhmm = at.isoformat(timespec="minutes")[11:]
    if at.date() == now.date():
        return f"{hhmm} UTC"
    year = f" {at.year}" if at.year != now.year else ""
    return f"{MONTHS[at.month - 1]} {at.day}{year} {hhmm} UTC"


def exact(at):
    """The exact instant, for a tooltip: "Nov 26 2026 14:32:05 UTC"."""
    if at is None:
        return None
    return f"{MONTHS[at.month - 1]} {at.day} {at.year} {at.isoformat(timespec='seconds')[11:]} UTC"


def clock(at, now):
    """``clock_time`` as a ``<time data-abs>`` element the browser shows in the reader's
    zone (the exact instant in its tooltip); None stays None."""
    if at is None:
        return None
    return Markup(
        f'<time datetime="{isoformat(at)}" title="{exact(at)}" data-abs>'
        f"{escape(clock_time(at, now))}</time>"
    )


def coarse(seconds):
    """A duration in its largest unit only: 42 s, 47 min, 17 h, 3 d."""
    seconds = max(0, int(seconds))
    for unit, name in ((DAY, "d"), (HOUR, "h"), (MINUTE, "min")):
        if seconds >= unit:
            return f"{seconds // unit} {name}"
    return f"{seconds} s"


def relative(at, now):
    """Relative text such as "47 min ago" or "in 5 min"; the exact time goes in a tooltip."""
    delta = (now - at).total_seconds()
    if abs(delta) < 5:
        return "just now"
    if delta > 0:
        return f"{coarse(delta)} ago"
    return f"in {coarse(-delta)}"


@dataclass(frozen=True)
class TimeView:
    """An instant as the page shows it: relative text, exact UTC tooltip, machine value."""

    iso: str
    exact: str
    relative: str
    clock: str

    @property
    def absolute(self):
        """The clock time as a ``<time data-abs>`` element (see ``clock``)."""
        return Markup(
            f'<time datetime="{self.iso}" title="{self.exact}" data-abs>{escape(self.clock)}</time>'
        )


def time_view(at, now):
    """A TimeView for ``at`` (None stays None)."""
    if at is None:
        return None
    return TimeView(isoformat(at), exact(at), relative(at, now), clock_time(at, now))


def between(start: datetime | None, end: datetime | None):
    """Seconds from ``start`` to ``end``, or None if either is missing."""
    if start is None or end is None:
        return None
    return (end - start).total_seconds()


def aging(seconds, now, limit=None):
    """A duration that keeps counting on the page: its text at ``now`` in a span that names
    the instant it counts from (live.js ages it every second). Just past ``limit`` (a
    number of seconds) it shows the seconds too, or "5 min (limit 5 min)" reads as within.
    """
    text = duration(seconds)
    extra = ""
    if limit is not None:
        extra = f' data-limit="{int(limit)}"'
        if text == duration(limit):
            text = f"{text} {int(seconds) % 60} s"
    since = isoformat(now - timedelta(seconds=seconds))
    return Markup(f'<span data-since="{since}"{extra}>{escape(text)}</span>')


def ago(at, now):
    """ "47 min ago" that keeps aging on the page, the exact instant in its tooltip."""
    return Markup(
        f'<time datetime="{isoformat(at)}" title="{exact(at)}" data-rel>'
        f"{escape(relative(at, now))}</time>"
    )


def until(at, before, after):
    """``before`` up to the instant ``at``, ``after`` from then on, switched in the browser
    at that instant (js/live.js), so that the page needs no render for it."""
    iso = isoformat(at)
    return Markup(
        '<span data-until="{0}">{1}</span><span data-from="{0}" hidden>{2}</span>'
    ).format(iso, before, after)


_LATER = re.compile(r'<span data-from="[^"]*" hidden>.*?</span>', re.S)


def plain(text):
    """The words of a sentence that may carry aging spans, for JSON and logs (of an
    ``until`` pair, the words of the moment it was made)."""
    return Markup(_LATER.sub("", str(text))).striptags() if isinstance(text, Markup) else text
