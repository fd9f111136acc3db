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


@dataclass(frozen=True)
class GroupFacts:
    """What a message says of its whole group, however many of its events it lists."""

    counts: dict  # kind -> number of events
    places: int  # distinct tenants (workspace-level runs count as one place)
    place: str | None  # the one place when there is one
    first_at: datetime
    last_at: datetime

    @property
    def total(self):
        return sum(self.counts.values())


def place_of(tenant_name):
    """Where an event happened, as a title names it."""
    return tenant_name or "the workspace"


def facts_of(lines):
    """The GroupFacts of ``lines`` (all of a group's events)."""
    places = {place_of(line.tenant) for line in lines}
    return GroupFacts(
        counts=dict(Counter(line.kind for line in lines)),
        places=len(places),
        place=next(iter(places)) if len(places) == 1 else None,
        first_at=min(line.at for line in lines),
        last_at=max(line.at for line in lines),
    )


def _plural(n, one, many):
    return f"{n:,} {one if n == 1 else many}"


def title_of(facts, workspace_name):
    """ "7 runs went stale in Contoso", or a summary of mixed kinds; "Digest: ..." when the
    group is a catch-up."""
    where = facts.place if facts.places == 1 else f"{facts.places} tenants"
    if len(facts.counts) == 1:
        kind, n = next(iter(facts.counts.items()))
        one, many = VERBS[kind]
        title = f"{_plural(n, 'run', 'runs')} {one if n == 1 else many} in {where}"
    else:
        parts = [f"{n:,} {VERBS[kind][n != 1]}" for kind, n in sorted(facts.counts.items())]
        title = f"{_plural(facts.total, 'run update', 'run updates')} in {where}: " + (
            ", ".join(parts)
        )
    if is_digest(facts):
        title = f"Digest for {workspace_name}: {title}"
    return title[:300]


def is_digest(facts):
    """Whether the events span more than DIGEST_SPAN (a catch-up, one message for all)."""
    return facts.last_at - facts.first_at > DIGEST_SPAN


def _line_text(line):
    where = line.tenant or "workspace-level"
    detail = f" ({line.detail})" if line.detail else ""
    return (
        f"- Run #{line.run_id} {line.type_label} in {where} {VERBS[line.kind][0]} "
        f"at {line.at:%Y-%m-%d %H:%M} UTC{detail}"
    )


def payload_of(lines, workspace_name, facts=None):
    """The message of a group: title, text, counts and its first events listed.

    ``lines`` are the group's events oldest first, or only its first LISTED_IN_JSON when
    ``facts`` describes the whole group (then nothing else needs reading).
    """
    lines = sorted(lines, key=lambda line: (line.at, line.run_id))
    facts = facts or facts_of(lines)
    title = title_of(facts, workspace_name)
    shown = [_line_text(line) for line in lines[:LISTED_IN_TEXT]]
    if facts.total > LISTED_IN_TEXT:
        shown.append(f"…and {facts.total - LISTED_IN_TEXT:,} more.")
    return {
        "title": title,
        "text": "\n".join([title, "", *shown]),
        "workspace": workspace_name,
        "digest": is_digest(facts),
        "counts": dict(facts.counts),
        "total": facts.total,
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
        "omitted": max(0, facts.total - LISTED_IN_JSON),
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
