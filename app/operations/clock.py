"""The one clock. All times are naive UTC datetimes; tests swap in a FrozenClock."""

from datetime import UTC, datetime, timedelta

from flask import current_app


class SystemClock:
    """Wall-clock time in UTC."""

    def now(self):
        """Return the current instant as a naive UTC datetime (microsecond precision)."""
        return datetime.now(UTC).replace(tzinfo=None)


class FrozenClock:
    """A clock that only moves when told to."""

    def __init__(self, at):
        self.at = at

    def now(self):
        """Return the frozen instant."""
        return self.at

    def set(self, at):
        """Jump to ``at``."""
        self.at = at

    def advance(self, seconds=0, **kwargs):
        """Move forward by ``seconds`` (and any timedelta keywords)."""
        self.at = self.at + timedelta(seconds=seconds, **kwargs)
        return self.at


def get_clock(app=None):
    """The clock of ``app`` (or the current app)."""
    app = app or current_app
    return app.extensions["runwarden.clock"]


def now():
    """The current instant according to the app's clock."""
    return get_clock().now()


def to_utc_naive(value):
    """Convert an aware datetime to naive UTC; naive values are taken as UTC already."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def isoformat(value):
    """Render a naive UTC datetime as ISO 8601 with a Z suffix (None stays None)."""
    if value is None:
        return None
    return value.isoformat(timespec="microseconds") + "Z"
