"""Diagnostic banners for the detail page and set summaries for cards and the overlay."""

from dataclasses import dataclass

from markupsafe import Markup

from app.operations import freshness as fr
from app.presenter.badges import DANGER, NEUTRAL, SUCCESS, WARNING
from app.presenter.formatting import aging, ago, clock, duration
from app.presenter.guidance import reconcile_why, stale_closing, within_window

_EXPECTED = {
    fr.NO_HEARTBEAT: "A heartbeat at least every {limit}",
    fr.NO_PROGRESS: "Progress at least every {limit}",
    fr.NEVER_STARTED: "Starts within {limit} of being queued",
    fr.LIFECYCLE_EXCEEDED: "Finishes within {limit} of starting",
}
_OBSERVED = {
    fr.NO_HEARTBEAT: "Last heartbeat {ago} ({at})",
    fr.NO_PROGRESS: "Last progress {ago} ({at})",
    fr.NEVER_STARTED: "Queued {ago} ({at}) and not started",
    fr.LIFECYCLE_EXCEEDED: "Started {ago} ({at}) and still not finished",
}


@dataclass(frozen=True)
class Banner:
    """A diagnostic banner: ``kind`` is the freshness it explains (the data-banner hook)."""

    kind: str
    title: str
    tone: str
    icon: str
    facts: tuple
    note: str


def banner(run, fresh, now):
    """The banner for likely stale, past expected and reconciled runs; None otherwise."""
    build = _BANNERS.get(fresh.state)
    return build(run, fresh, now) if build else None


def _likely_stale(run, fresh, now):
    rule = fresh.tripped_rule
    at = rule.observed_at
    return Banner(
        fr.LIKELY_STALE,
        "Likely stale operation",
        DANGER,
        "alert",
        (
            ("Expected", _EXPECTED[rule.reason].format(limit=duration(rule.limit))),
            (
                "Observed",
                Markup(_OBSERVED[rule.reason]).format(ago=ago(at, now), at=clock(at, now)),
            ),
            ("Reconciliation", stale_closing(fresh, now)),
        ),
        "Do not treat this run as running: nothing it reported shows it is still alive.",
    )


def _past_expected(run, fresh, now):
    starting = run.status == "queued"
    verb = "Starts" if starting else "Finishes"
    return Banner(
        fr.PAST_EXPECTED,
        "Waiting longer than expected" if starting else "Running longer than expected",
        WARNING,
        "hourglass",
        (
            ("Expected", f"{verb} within {duration(fresh.expected_seconds)}"),
            (
                "Observed",
                Markup("{} for {}").format(
                    "Queued" if starting else "Running", aging(fresh.age_seconds, now)
                ),
            ),
            ("Window", Markup("Still {}").format(within_window(fresh, now))),
        ),
        "No action needed yet. If it has not "
        + ("started" if starting else "finished or reported")
        + " by then, it becomes likely stale.",
    )


def _reconciled(run, fresh, now):
    return Banner(
        fr.RECONCILED_FAILED,
        "Closed by the reconciler",
        DANGER,
        "cross",
        (
            ("Why", f"Closed because {reconcile_why(run)}."),
            (
                "Closed",
                Markup("{} ({})").format(
                    ago(run.reconciled_at, now), clock(run.reconciled_at, now)
                ),
            ),
        ),
        "Reports that arrive from the worker after this are kept on the timeline below; "
        "they never reopen the run.",
    )


_BANNERS = {
    fr.LIKELY_STALE: _likely_stale,
    fr.PAST_EXPECTED: _past_expected,
    fr.RECONCILED_FAILED: _reconciled,
}


@dataclass(frozen=True)
class AttentionCounts:
    """Active runs of a set, split by how late they are."""

    active: int = 0
    past_expected: int = 0
    likely_stale: int = 0

    @classmethod
    def of(cls, freshnesses):
        """Count a collection of Freshness values."""
        states = [f.state for f in freshnesses if f.is_active]
        return cls(len(states), states.count(fr.PAST_EXPECTED), states.count(fr.LIKELY_STALE))


@dataclass(frozen=True)
class AttentionSummary:
    """One line about a set of runs, with its tone."""

    text: str
    tone: str


def attention_summary(counts):
    """One line for a set: "3 active · 1 likely stale" or "3 active, all on track".

    ``counts`` is an AttentionCounts or an iterable of Freshness values.
    """
    if not isinstance(counts, AttentionCounts):
        counts = AttentionCounts.of(counts)
    active, late, stale = counts.active, counts.past_expected, counts.likely_stale
    if active == 0:
        return AttentionSummary("No active operations", NEUTRAL)
    if not stale and not late:
        on_track = "on track" if active == 1 else "all on track"
        return AttentionSummary(f"{active} active, {on_track}", SUCCESS)
    parts = [f"{active} active"]
    if stale:
        parts.append(
            "all likely stale" if stale == active and active > 1 else f"{stale} likely stale"
        )
    if late:
        parts.append(f"{late} running long")
    return AttentionSummary(" · ".join(parts), DANGER if stale else WARNING)
