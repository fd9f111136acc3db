"""The reconciler's own status in words, for its page, the overview and readiness."""

from markupsafe import Markup

from app.operations.reconciler_status import NEVER_RAN, OFF, STALE
from app.presenter.formatting import aging, duration


def status_message(status):
    """One sentence saying what ``status`` (a ReconcilerStatus) means for the reader; the
    time since the last pass keeps counting on a page (``aging``; ``plain`` for text)."""
    every = duration(status.interval_seconds)
    if status.state == OFF:
        return (
            "The reconciler is switched off (RUNWARDEN_RECONCILER=off): likely stale runs "
            "are shown but never closed."
        )
    if status.state == NEVER_RAN:
        hint = " Is python -m reconciler running?" if status.mode == "external" else ""
        return f"The reconciler has not finished a pass yet.{hint}"
    ago = aging((status.as_of - status.last_success_at).total_seconds(), status.as_of)
    if status.state == STALE:
        return Markup(
            "The reconciler looks stale: no pass has finished for {} (passes are due every {})."
        ).format(ago, every)
    return Markup("The last pass finished {} ago; passes run every {}.").format(ago, every)


def stale_warning(status):
    """The warning to show (and readiness to report) when ``status`` looks stale, else None."""
    return status_message(status) if status is not None and status.looks_stale else None
