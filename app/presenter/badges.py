"""The badge of a run: one label, tone and icon per meaning, on every surface."""

from dataclasses import asdict, dataclass

from app.operations import freshness as fr

NEUTRAL, INFO, WARNING, DANGER, SUCCESS = "neutral", "info", "warning", "danger", "success"
TONES = (NEUTRAL, INFO, WARNING, DANGER, SUCCESS)


@dataclass(frozen=True)
class Badge:
    """Label, tone and icon name: text plus icon, never colour alone."""

    label: str
    tone: str
    icon: str

    def as_dict(self):
        """The badge as JSON-ready dict."""
        return asdict(self)


_ACTIVE = {
    (fr.FRESH, "queued"): Badge("Queued", NEUTRAL, "clock"),
    (fr.FRESH, "running"): Badge("Running", INFO, "play"),
    (fr.PAST_EXPECTED, "queued"): Badge("Queued long", WARNING, "hourglass"),
    (fr.PAST_EXPECTED, "running"): Badge("Running long", WARNING, "hourglass"),
    (fr.LIKELY_STALE, "queued"): Badge("Likely stale", DANGER, "alert"),
    (fr.LIKELY_STALE, "running"): Badge("Likely stale", DANGER, "alert"),
}

_OUTCOMES = {
    "succeeded": Badge("Succeeded", SUCCESS, "check"),
    "partially_succeeded": Badge("Partially succeeded", WARNING, "half"),
    "failed": Badge("Failed", DANGER, "cross"),
    "cancelled": Badge("Cancelled", NEUTRAL, "slash"),
}

RECONCILED = Badge("Failed · reconciled", DANGER, "cross")


def badge(run, fresh):
    """The badge of ``run`` given its Freshness ``fresh``."""
    if fresh.state == fr.RECONCILED_FAILED:
        return RECONCILED
    if fresh.state == fr.TERMINAL:
        return _OUTCOMES.get(
            run.outcome, Badge(run.outcome.replace("_", " ").capitalize(), NEUTRAL, "dot")
        )
    return _ACTIVE[(fresh.state, run.status)]


def emphasis(fresh):
    """How loudly a surface may present the run: ``danger`` only when likely stale."""
    if fresh.state == fr.LIKELY_STALE:
        return DANGER
    if fresh.state == fr.PAST_EXPECTED:
        return WARNING
    return NEUTRAL
