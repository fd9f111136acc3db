"""Lifecycle policy per operation type: defaults, TOML overrides and validation."""

import tomllib
from dataclasses import dataclass, fields, replace

DURATION_KEYS = (
    "queued_expected",
    "queued_stale",
    "running_expected",
    "running_stale",
    "heartbeat_stale",
    "progress_stale",
    "reconcile_grace",
    "running_min",
)
OPTIONAL_KEYS = ("heartbeat_stale", "progress_stale", "running_min")
MINUTE = 60


class PolicyError(ValueError):
    """An operation type definition that cannot be used."""


@dataclass(frozen=True)
class OperationType:
    """Lifecycle windows of one operation type, in seconds."""

    name: str
    label: str
    queued_expected: int
    queued_stale: int
    running_expected: int
    running_stale: int
    heartbeat_stale: int | None
    progress_stale: int | None
    reconcile_grace: int
    # A successful run shorter than this (seconds) needs a follow-up: it likely skipped
    # its work. None: no minimum.
    running_min: int | None = None

    def validate(self):
        """Raise PolicyError naming the type, the key and the rule broken."""
        for key in DURATION_KEYS:
            value = getattr(self, key)
            if value is None and key in OPTIONAL_KEYS:
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise PolicyError(f"type {self.name!r}: {key} must be a whole number of seconds")
            if value < 0 or (value == 0 and key != "reconcile_grace"):
                rule = "must not be negative" if value < 0 else "must be positive"
                raise PolicyError(f"type {self.name!r}: {key} {rule} (got {value})")
        if not isinstance(self.label, str) or not self.label.strip():
            raise PolicyError(f"type {self.name!r}: label must be a non-empty string")
        for phase in ("queued", "running"):
            expected = getattr(self, f"{phase}_expected")
            stale = getattr(self, f"{phase}_stale")
            if stale < expected:
                raise PolicyError(
                    f"type {self.name!r}: {phase}_stale must be at least {phase}_expected "
                    f"({stale} < {expected})"
                )
        if self.running_min is not None and self.running_min > self.running_expected:
            raise PolicyError(
                f"type {self.name!r}: running_min must be at most running_expected "
                f"({self.running_min} > {self.running_expected})"
            )
        return self


def _type(name, label, qe, qs, re, rs, hb, pr, grace):
    return OperationType(name, label, qe, qs, re, rs, hb, pr, grace)


DEFAULT_TYPES = {
    t.name: t
    for t in (
        _type(
            "inventory_sync",
            "Inventory sync",
            2 * MINUTE,
            15 * MINUTE,
            15 * MINUTE,
            60 * MINUTE,
            5 * MINUTE,
            15 * MINUTE,
            30 * MINUTE,
        ),
        _type(
            "baseline_compare",
            "Baseline compare",
            2 * MINUTE,
            15 * MINUTE,
            10 * MINUTE,
            30 * MINUTE,
            5 * MINUTE,
            None,
            30 * MINUTE,
        ),
        _type(
            "policy_restore",
            "Policy restore",
            5 * MINUTE,
            30 * MINUTE,
            20 * MINUTE,
            90 * MINUTE,
            5 * MINUTE,
            20 * MINUTE,
            30 * MINUTE,
        ),
        _type(
            "report_export",
            "Report export",
            5 * MINUTE,
            60 * MINUTE,
            5 * MINUTE,
            20 * MINUTE,
            None,
            None,
            15 * MINUTE,
        ),
    )
}

# Runs whose type is no longer configured still get a lifecycle: a generous one.
FALLBACK_TYPE = _type(
    "unknown",
    "Unknown type",
    10 * MINUTE,
    60 * MINUTE,
    60 * MINUTE,
    4 * 60 * MINUTE,
    None,
    None,
    60 * MINUTE,
)


class Policy:
    """All operation types known to a deployment."""

    def __init__(self, types, follow_up_window=7 * 24 * 3600):
        self.types = dict(types)
        self.follow_up_window = follow_up_window
        for op_type in self.types.values():
            op_type.validate()

    def for_type(self, name):
        """The lifecycle of ``name``, or the fallback for an unconfigured type."""
        return self.types.get(name) or replace(FALLBACK_TYPE, name=name)

    def knows(self, name):
        """Whether ``name`` is a configured type (the API accepts only those)."""
        return name in self.types

    def names(self):
        """Configured type names, sorted."""
        return sorted(self.types)


def load_policy(path=None, follow_up_window=7 * 24 * 3600):
    """The shipped defaults, overridden key by key by the TOML file at ``path``."""
    types = dict(DEFAULT_TYPES)
    if not path:
        return Policy(types, follow_up_window)
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except OSError as exc:
        raise PolicyError(f"cannot read operation types file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"operation types file {path} is not valid TOML: {exc}") from exc
    unknown_top = set(document) - {"types"}
    if unknown_top:
        raise PolicyError(f"operation types file {path}: unknown table(s) {sorted(unknown_top)}")
    allowed = {f.name for f in fields(OperationType)} - {"name"}
    for name, table in document.get("types", {}).items():
        if not isinstance(table, dict):
            raise PolicyError(f"type {name!r}: must be a table of settings")
        unknown = set(table) - allowed
        if unknown:
            raise PolicyError(f"type {name!r}: unknown key {sorted(unknown)[0]!r}")
        base = types.get(name)
        if base is None:
            missing = sorted(allowed - set(table) - set(OPTIONAL_KEYS))
            if missing:
                raise PolicyError(f"type {name!r}: new type needs key {missing[0]!r}")
            base = replace(FALLBACK_TYPE, name=name, heartbeat_stale=None, progress_stale=None)
        # TOML has no null: 0 switches an optional check off.
        table = {k: (None if k in OPTIONAL_KEYS and v == 0 else v) for k, v in table.items()}
        types[name] = replace(base, **table)
    return Policy(types, follow_up_window)
