"""The words: guidance by density, the detail headline, banners and set summaries.

Every sentence is built from the Freshness the one truth computed; nothing here knows a
threshold of its own.
"""

from dataclasses import dataclass
from datetime import timedelta

from markupsafe import Markup

from app.operations import freshness as fr
from app.presenter.badges import DANGER, NEUTRAL, SUCCESS, WARNING
from app.presenter.formatting import aging, ago, between, clock, duration, until

ROW, CARD, DETAIL = "row", "card", "detail"
DENSITIES = (ROW, CARD, DETAIL)

_STALE_UNLESS = {
    fr.NEVER_STARTED: "it starts",
    fr.NO_HEARTBEAT: "it reports progress",
    fr.NO_PROGRESS: "it reports progress",
    fr.LIFECYCLE_EXCEEDED: "it completes",
}

RECONCILE_REASONS = {
    "stale_no_heartbeat": "no heartbeat arrived within its limit",
    "stale_no_progress": "it made no progress within its limit",
    "stale_lifecycle_exceeded": "it ran past its lifecycle window",
    "stale_never_started": "it never started",
}


def sentence(text):
    """``text`` with its first letter in upper case."""
    return text[:1].upper() + text[1:]


def stale_observation(fresh, now):
    """What was observed, with the limit: "no heartbeat for 47 min (limit 5 min)"."""
    rule = fresh.tripped_rule
    seconds = (now - rule.observed_at).total_seconds()
    seen = aging(seconds, now, limit=rule.limit)
    words = {
        fr.NO_HEARTBEAT: "no heartbeat for {seen} (limit {limit})",
        fr.NO_PROGRESS: "no progress for {seen} (limit {limit})",
        fr.NEVER_STARTED: "queued for {seen} without starting (limit {limit})",
        fr.LIFECYCLE_EXCEEDED: "running for {seen}, past its {limit} window",
    }[rule.reason]
    return Markup(words).format(seen=seen, limit=duration(rule.limit))


DUE_TO_CLOSE = "Due to be closed as failed on the reconciler's next pass."


def stale_closing(fresh, now):
    """When the reconciler closes it: "Will be closed as failed at 14:32 UTC unless ...",
    and from that instant on (switched in the browser) that it is due to be closed."""
    if fresh.reconcile_at > now:
        unless = _STALE_UNLESS[fresh.stale_reason]
        words = Markup("Will be closed as failed at {} unless {}.").format(
            clock(fresh.reconcile_at, now), unless
        )
        return until(fresh.reconcile_at, words, DUE_TO_CLOSE)
    return DUE_TO_CLOSE


def within_window(fresh, now):
    """Where an active run stands in its lifecycle window: "within its 30 min window until
    12:15 UTC" (silence limits can end it sooner; the guidance of a stale run says which)."""
    ends = now + timedelta(seconds=fresh.stale_seconds - fresh.age_seconds)
    return Markup("within its {} window until {}").format(
        duration(fresh.stale_seconds), clock(ends, now)
    )


def reconcile_why(run):
    """Why the reconciler closed the run, in words."""
    reason = run.reconciliation_reason or ""
    return RECONCILE_REASONS.get(reason, reason.replace("_", " ") or "it was likely stale")


def _run_seconds(run):
    return between(run.started_at or run.created_at, run.completed_at)


MESSAGE_CHARS = {ROW: 80, CARD: 160}


def _terminal(run, density, now, with_message=True):
    took = duration(_run_seconds(run))
    message = (run.failure_message or "").strip() if with_message else ""
    cap = MESSAGE_CHARS.get(density)
    if cap and len(message) > cap:
        message = message[: cap - 1] + "…"
    if run.outcome == "succeeded":
        return f"Finished in {took}." if density == ROW else f"Succeeded in {took}."
    words = {"failed": "Failed", "partially_succeeded": "Partially succeeded"}
    lead = f"{words.get(run.outcome, 'Cancelled')} after {took}"
    if run.outcome == "partially_succeeded" and run.total and not message:
        message = f"{run.processed or 0} of {run.total} processed"
    return f"{lead}: {message}." if message else f"{lead}."


def _active_fresh(run, fresh, density, now):
    age, expected = aging(fresh.age_seconds, now), duration(fresh.expected_seconds)
    if run.status == "queued":
        if density == ROW:
            words = "Queued {age} · usually starts within {expected}"
        else:
            words = "Queued {age} ago, usually starts within {expected}."
    elif density == ROW:
        words = "On track · running {age}, usually done within {expected}"
    else:
        words = "On track: running for {age}, usually done within {expected}."
    return Markup(words).format(age=age, expected=expected)


def _active_late(run, fresh, density, now):
    age, expected = aging(fresh.age_seconds, now), duration(fresh.expected_seconds)
    within = within_window(fresh, now)
    if run.status == "queued":
        if density == ROW:
            return Markup("Waiting longer than expected · {}").format(within)
        words = "Waiting longer than expected to start ({age}, usually {expected}); still {within}."
    elif density == ROW:
        return Markup("Running longer than expected · {}").format(within)
    else:
        words = "Running longer than expected ({age}, usually {expected}); still {within}."
    return Markup(words).format(age=age, expected=expected, within=within)


def _stale(fresh, density, now):
    observed = stale_observation(fresh, now)
    if density == ROW:
        closes = (
            until(
                fresh.reconcile_at,
                Markup("closes {}").format(clock(fresh.reconcile_at, now)),
                "closing on the next reconciler pass",
            )
            if fresh.reconcile_at > now
            else "closing on the next reconciler pass"
        )
        return Markup("{} · {}").format(sentence(observed), closes)
    return Markup("Likely stale: {}. {}").format(observed, stale_closing(fresh, now))


def _reconciled(run, density, now):
    why = reconcile_why(run)
    if density == ROW:
        return f"Closed by the reconciler: {why}"
    return Markup(
        "Closed as failed by the reconciler at {}: {}. Late reports are kept on its timeline."
    ).format(clock(run.reconciled_at, now), why)


def guidance(run, fresh, now, density=CARD):
    """The sentence a surface of ``density`` (row, card, detail) shows for ``run``."""
    if density not in DENSITIES:
        raise ValueError(f"unknown density {density!r}")
    state = fresh.state
    if state == fr.RECONCILED_FAILED:
        return _reconciled(run, density, now)
    if state == fr.TERMINAL:
        return _terminal(run, density, now)
    if state == fr.LIKELY_STALE:
        return _stale(fresh, density, now)
    if state == fr.PAST_EXPECTED:
        return _active_late(run, fresh, density, now)
    return _active_fresh(run, fresh, density, now)


@dataclass(frozen=True)
class DecisionTruth:
    """The detail page's headline of what is true now."""

    headline: str
    detail: str
    tone: str


_DEADLINE = {"queued": "started", "running": "finished or reported"}

_TERMINAL_HEADLINES = {
    "succeeded": ("Succeeded", SUCCESS),
    "partially_succeeded": ("Partially succeeded: check what was skipped", WARNING),
    "failed": ("Failed", DANGER),
    "cancelled": ("Cancelled", NEUTRAL),
}


def decision_truth(run, fresh, now, banner_shown=False):
    """What is true about ``run`` right now, as a headline and one supporting sentence
    (``banner_shown``: a stale run's banner beside it already gives the particulars)."""
    state = fresh.state
    if state == fr.RECONCILED_FAILED:
        return DecisionTruth(
            "Failed: closed by the reconciler",
            Markup(
                "It was closed at {} because {}. "
                "Late reports from the worker are kept on the timeline and never reopen it."
            ).format(clock(run.reconciled_at, now), reconcile_why(run)),
            DANGER,
        )
    if state == fr.TERMINAL:
        return _terminal_truth(run, now)
    if state == fr.LIKELY_STALE:
        return _stale_truth(fresh, now, banner_shown)
    if state == fr.PAST_EXPECTED:
        return _past_expected_truth(run, fresh, now)
    if run.status == "queued":
        return DecisionTruth("Waiting to start", _active_fresh(run, fresh, DETAIL, now), NEUTRAL)
    return DecisionTruth("Running normally", _active_fresh(run, fresh, DETAIL, now), SUCCESS)


def _terminal_truth(run, now):
    headline, tone = _TERMINAL_HEADLINES.get(run.outcome, ("Completed", NEUTRAL))
    finished = Markup("Completed {}, at {}.").format(
        ago(run.completed_at, now), clock(run.completed_at, now)
    )
    return DecisionTruth(
        headline, Markup("{} {}").format(finished, _terminal(run, DETAIL, now, False)), tone
    )


def _stale_truth(fresh, now, banner_shown):
    if banner_shown:
        why = "The banner below says what was expected, what was observed and when it closes."
    else:
        why = Markup("{}. {}").format(
            sentence(stale_observation(fresh, now)), stale_closing(fresh, now)
        )
    return DecisionTruth("Likely stale: treat it as not running", why, DANGER)


def _past_expected_truth(run, fresh, now):
    starting = run.status == "queued"
    return DecisionTruth(
        "Waiting longer than expected to start" if starting else "Running longer than expected",
        Markup("Still {}; it counts as likely stale if it has not {} by then.").format(
            within_window(fresh, now), _DEADLINE[run.status]
        ),
        WARNING,
    )
