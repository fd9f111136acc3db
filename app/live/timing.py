"""Debug timing of the live worker: when a sweep took its work, rendered, and sent.

Off by default. ``RUNWARDEN_LIVE_TIMING_LOG=<path>`` (read once, by ``install``) makes the
``runwarden.live.timing`` logger write one line per sweep, render and sent page update to
that file, with wall-clock instants (``time.time()``, seconds) so that a measuring client on
the same host can split a change's way to the page into stages (``bench.live_stages``).
Nothing is logged, and nothing is computed for it, unless the logger is enabled.
"""

import logging
import os
import re
import time
from datetime import UTC, datetime

log = logging.getLogger("runwarden.live.timing")
ENV = "RUNWARDEN_LIVE_TIMING_LOG"


def install(environ=os.environ):
    """Send the timing lines to the file ``environ[ENV]`` names, if it names one."""
    path = environ.get(ENV)
    if not path or any(getattr(h, "baseFilename", None) == path for h in log.handlers):
        return False
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    log.propagate = False
    return True


def enabled():
    return log.isEnabledFor(logging.DEBUG)


def epoch(instant):
    """Seconds since the epoch of a naive-UTC app instant (None stays None)."""
    if instant is None:
        return 0.0
    return instant.replace(tzinfo=UTC).timestamp()


def line(kind, **fields):
    """One timing line: ``kind key=value ...`` (floats to the microsecond)."""
    parts = [kind]
    for key, value in fields.items():
        parts.append(f"{key}={value:.6f}" if isinstance(value, float) else f"{key}={value}")
    log.debug(" ".join(parts))


now = time.time
AS_OF = re.compile(r'data-as-of="([^"]+)"')


def rendered(page, work, now_, started, members):
    """A group's render of a sweep (``work``) was queued for its ``members``."""
    as_of = epoch(work.as_of or now_)
    line("render", page=page, as_of=as_of, taken=work.taken, start=started, end=now(), n=members)


def sent(client, message):
    """A page update reached the socket of ``client`` (its send returned)."""
    found = AS_OF.search(message, 0, 600)
    if found:
        as_of = epoch(datetime.fromisoformat(found.group(1).removesuffix("Z")))
        line("sent", page=client.watch.page, as_of=as_of, at=now(), client=client.id)
