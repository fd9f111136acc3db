"""The words of a notification: one message for a group of events of one channel."""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.operations.clock import isoformat

VERBS = {
    "stale": ("went stale", "went stale"),
    "reconciled": ("was closed by the reconciler", "were closed by the reconciler"),
    "failed": ("failed", "failed"),
    "recovered": ("recovered", "recovered"),
}
LISTED_IN_TEXT = 10
LISTED_IN_JSON = 50
# A group whose events span more than this is a catch-up after the scheduler was down.
DIGEST_SPAN = timedelta(minutes=5)


@dataclass(frozen=True)
class EventLine:
    """One event as a message shows it."""

    kind: str
    run_id: int
    at: datetime
    tenant: str | None
    type_label: str
    detail: str | None = None


def _plural(n, one, many):
    return f"{n:,} {one if n == 1 else many}"


def _where(lines):
    tenants = {line.tenant or "the workspace" for line in lines}
    if len(tenants) == 1:
        return next(iter(tenants))
    return f"{len(tenants)} tenants"


def title_of(lines, workspace_name):
    """ "7 runs went stale in Contoso", or a summary of mixed kinds; "Digest: ..." when the
    group is a catch-up."""
    counts = Counter(line.kind for line in lines)
    where = _where(lines)
    if len(counts) == 1:
        kind, n = next(iter(counts.items()))
        one, many = VERBS[kind]
        title = f"{_plural(n, 'run', 'runs')} {one if n == 1 else many} in {where}"
    else:
        parts = [f"{n:,} {VERBS[kind][n != 1]}" for kind, n in sorted(counts.items())]
        title = f"{_plural(len(lines), 'run update', 'run updates')} in {where}: " + ", ".join(
            parts
        )
    if is_digest(lines):
        title = f"Digest for {workspace_name}: {title}"
    return title[:300]


def is_digest(lines):
    """Whether the events span more than DIGEST_SPAN (a catch-up, one message for all)."""
    times = [line.at for line in lines]
    return bool(times) and max(times) - min(times) > DIGEST_SPAN


def _line_text(line):
    where = line.tenant or "workspace-level"
    detail = f" ({line.detail})" if line.detail else ""
    return (
        f"- Run #{line.run_id} {line.type_label} in {where} {VERBS[line.kind][0]} "
        f"at {line.at:%Y-%m-%d %H:%M} UTC{detail}"
    )


def payload_of(lines, workspace_name):
    """The message for ``lines`` (oldest first): title, text, counts and listed events."""
    lines = sorted(lines, key=lambda line: (line.at, line.run_id))
    title = title_of(lines, workspace_name)
    shown = [_line_text(line) for line in lines[:LISTED_IN_TEXT]]
    if len(lines) > LISTED_IN_TEXT:
        shown.append(f"…and {len(lines) - LISTED_IN_TEXT:,} more.")
    return {
        "title": title,
        "text": "\n".join([title, "", *shown]),
        "workspace": workspace_name,
        "digest": is_digest(lines),
        "counts": dict(Counter(line.kind for line in lines)),
        "total": len(lines),
        "events": [
            {
                "kind": line.kind,
                "run_id": line.run_id,
                "at": isoformat(line.at),
                "tenant": line.tenant,
                "type": line.type_label,
                "detail": line.detail,
                "path": f"/admin/operations/{line.run_id}",
            }
            for line in lines[:LISTED_IN_JSON]
        ],
        "omitted": max(0, len(lines) - LISTED_IN_JSON),
    }


def payload_for_test(channel_name, workspace_name, now):
    """The message of "send a test"."""
    title = f"Test notification for {channel_name} ({workspace_name})"
    return {
        "title": title,
        "text": f"{title}\n\nRunwarden can reach this channel. Sent at {isoformat(now)}.",
        "workspace": workspace_name,
        "digest": False,
        "counts": {},
        "total": 0,
        "events": [],
        "omitted": 0,
        "test": True,
    }
