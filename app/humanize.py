"""Seconds in words: "42 s", "3 h 12 min", "7 days".

A leaf module: the pages use it through the presenter, and the reconciler uses it for the
human-readable message it stores on every run it closes (a record, written once).
"""

MINUTE = 60
HOUR = 3600
DAY = 86400


def duration(seconds):
    """Humanise a number of seconds: "42 s", "47 min", "3 h 12 min", "2 d 4 h"."""
    if seconds is None:
        return None
    seconds = max(0, int(seconds))
    if seconds < MINUTE:
        return f"{seconds} s"
    if seconds < HOUR:
        return f"{seconds // MINUTE} min"
    if seconds < DAY:
        hours, minutes = divmod(seconds // MINUTE, 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(seconds // HOUR, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def window(seconds):
    """A configured window in words: "7 days", "24 hours", "30 min"."""
    if seconds % DAY == 0:
        days = seconds // DAY
        return f"{days} day" if days == 1 else f"{days} days"
    if seconds % HOUR == 0:
        hours = seconds // HOUR
        return f"{hours} hour" if hours == 1 else f"{hours} hours"
    return duration(seconds)
