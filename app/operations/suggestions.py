"""Windows suggested from history, by one stated rule, and the TOML that sets them.

expected = p90 and stale = p99 x 1.25 of the measure each window watches, in whole
seconds rounded up (at least 1), from the successful runs of the window; below
``MIN_RUNS`` runs of a measure nothing is suggested for its windows. ``running_min`` (a
successful run faster than it is a follow-up) = p1 x 0.5 of the run times, rounded down,
none under 1 s. ``reconcile_grace`` and the label are never suggested: history says
nothing about them.
"""

import math
import re
from dataclasses import dataclass, replace

MIN_RUNS = 30
STALE_FACTOR = 1.25
MIN_FACTOR = 0.5
RULE = (
    f"expected = p90, stale = p99 × {STALE_FACTOR} of the successful runs, in whole "
    f"seconds rounded up; running_min = p1 × {MIN_FACTOR} of their run times, rounded "
    f"down (none under 1 s); nothing is suggested from fewer than {MIN_RUNS} runs"
)
# window: (measure it watches, percentile, factor)
SUGGESTED = {
    "queued_expected": ("queue_wait", "p90", 1),
    "queued_stale": ("queue_wait", "p99", STALE_FACTOR),
    "running_expected": ("run_time", "p90", 1),
    "running_stale": ("run_time", "p99", STALE_FACTOR),
    "heartbeat_stale": ("heartbeat_gap", "p99", STALE_FACTOR),
    "progress_stale": ("progress_gap", "p99", STALE_FACTOR),
    # A successful run faster than half what the fastest 1 % take is a follow-up.
    "running_min": ("run_time", "p01", MIN_FACTOR),
}
ROUNDED_DOWN = {"running_min"}
BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class Suggestion:
    """One window: its current value, the suggested one (None: not enough runs) and why."""

    key: str
    current: int | None
    value: int | None
    measure: str
    runs: int
    reason: str


def whole_seconds(seconds):
    """``seconds`` rounded up to a whole second, at least 1 (float noise ignored)."""
    return max(1, math.ceil(round(seconds, 6)))


def _value(key, dist, rank, factor):
    seconds = getattr(dist, rank)
    if seconds is None:
        return None
    if key in ROUNDED_DOWN:  # a minimum: whole seconds rounded down, none under 1 s
        return math.floor(round(seconds * factor, 6)) or None
    return whole_seconds(seconds * factor)


def suggest(op_type, measures):
    """[Suggestion] for ``op_type`` from ``measures`` ({measure: Distribution})."""
    found = []
    for key, (name, rank, factor) in SUGGESTED.items():
        dist = measures[name]
        current = getattr(op_type, key)
        if dist.n < MIN_RUNS:
            reason = f"only {dist.n} runs with a {name.replace('_', ' ')}; {MIN_RUNS} needed"
            found.append(Suggestion(key, current, None, name, dist.n, reason))
            continue
        value = _value(key, dist, rank, factor)
        reason = f"{rank} × {factor}" if factor != 1 else rank
        if value is None:
            reason = f"{reason} is under 1 s: no minimum"
        found.append(Suggestion(key, current, value, name, dist.n, reason))
    suggested = {s.key: s.value for s in found if s.value is not None}
    replace(op_type, **suggested).validate()  # the rule keeps stale >= expected
    return found


def toml_snippet(suggested_by_type):
    """``RUNWARDEN_OPERATION_TYPES`` TOML setting the suggested values:
    ``suggested_by_type`` is [(type name, [Suggestion])]; types without any are left out."""
    blocks = []
    for name, suggestions in suggested_by_type:
        lines = [f"{s.key} = {s.value}" for s in suggestions if s.value is not None]
        if lines:
            blocks.append("\n".join([f"[types.{_key(name)}]", *lines]))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def _key(name):
    if BARE_KEY.match(name):
        return name
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(c if c.isprintable() else f"\\U{ord(c):08x}" for c in escaped)
    return f'"{escaped}"'
