"""Lifecycle policy: shipped defaults, TOML overrides key by key, validation at start-up."""

import pytest

from app import create_app
from app.operations.policy import DEFAULT_TYPES, PolicyError, load_policy
from config import Config

MIN = 60


def toml(tmp_path, text):
    path = tmp_path / "types.toml"
    path.write_text(text)
    return str(path)


def test_without_a_file_the_shipped_defaults_apply():
    policy = load_policy(None)
    assert policy.names() == sorted(DEFAULT_TYPES)
    baseline = policy.for_type("baseline_compare")
    assert (baseline.running_expected, baseline.running_stale) == (10 * MIN, 30 * MIN)
    assert (baseline.heartbeat_stale, baseline.reconcile_grace) == (5 * MIN, 30 * MIN)


def test_an_override_changes_only_the_keys_it_names(tmp_path):
    path = toml(tmp_path, "[types.baseline_compare]\nrunning_stale = 2700\nlabel = 'Compare'\n")
    changed = load_policy(path).for_type("baseline_compare")
    shipped = DEFAULT_TYPES["baseline_compare"]
    assert (changed.running_stale, changed.label) == (2700, "Compare")
    for key in ("queued_expected", "queued_stale", "running_expected", "heartbeat_stale"):
        assert getattr(changed, key) == getattr(shipped, key), key
    assert load_policy(path).for_type("inventory_sync") == DEFAULT_TYPES["inventory_sync"]


def test_a_new_type_is_added_with_every_required_key(tmp_path):
    path = toml(
        tmp_path,
        """
[types.license_audit]
label = "Licence audit"
queued_expected = 60
queued_stale = 600
running_expected = 300
running_stale = 1200
heartbeat_stale = 120
reconcile_grace = 0
""",
    )
    policy = load_policy(path)
    assert policy.knows("license_audit")
    audit = policy.for_type("license_audit")
    assert (audit.label, audit.heartbeat_stale, audit.progress_stale) == (
        "Licence audit",
        120,
        None,
    )
    assert audit.reconcile_grace == 0
    assert set(DEFAULT_TYPES) < set(policy.names())


def test_a_new_type_missing_a_key_is_refused(tmp_path):
    path = toml(tmp_path, "[types.audit]\nlabel = 'Audit'\nqueued_expected = 60\n")
    with pytest.raises(PolicyError, match=r"type 'audit'.*needs key 'queued_stale'"):
        load_policy(path)


def test_zero_switches_an_optional_silence_check_off(tmp_path):
    path = toml(tmp_path, "[types.inventory_sync]\nheartbeat_stale = 0\nprogress_stale = 0\n")
    inventory = load_policy(path).for_type("inventory_sync")
    assert inventory.heartbeat_stale is None
    assert inventory.progress_stale is None


@pytest.mark.parametrize(
    "type_name, setting, rule",
    [
        ("baseline_compare", "running_stal = 60", "unknown key 'running_stal'"),
        ("baseline_compare", "queued_stale = -5", "queued_stale must not be negative"),
        ("baseline_compare", "reconcile_grace = -1", "reconcile_grace must not be negative"),
        ("baseline_compare", "running_expected = 0", "running_expected must be positive"),
        (
            "baseline_compare",
            "running_stale = 300",
            r"running_stale must be at least running_expected \(300 < 600\)",
        ),
        (
            "report_export",
            "queued_expected = 7200",
            "queued_stale must be at least queued_expected",
        ),
        ("baseline_compare", "running_stale = '30m'", "running_stale must be a whole number"),
        ("baseline_compare", "running_stale = 1.5", "running_stale must be a whole number"),
        ("baseline_compare", "heartbeat_stale = true", "heartbeat_stale must be a whole number"),
        ("baseline_compare", "label = ''", "label must be a non-empty string"),
    ],
)
def test_invalid_settings_name_the_type_key_and_rule(tmp_path, type_name, setting, rule):
    path = toml(tmp_path, f"[types.{type_name}]\n{setting}\n")
    with pytest.raises(PolicyError, match=f"^type '{type_name}': {rule}"):
        load_policy(path)


@pytest.mark.parametrize(
    "text, message",
    [
        ("[types]\nbaseline_compare = 5\n", "type 'baseline_compare': must be a table"),
        ("[typez.baseline_compare]\nlabel = 'x'\n", "unknown table"),
        ("[types.baseline_compare\n", "not valid TOML"),
    ],
)
def test_malformed_files_are_refused(tmp_path, text, message):
    with pytest.raises(PolicyError, match=message):
        load_policy(toml(tmp_path, text))


def test_a_missing_file_is_an_error(tmp_path):
    with pytest.raises(PolicyError, match="cannot read operation types file"):
        load_policy(str(tmp_path / "absent.toml"))


@pytest.fixture
def environment(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    monkeypatch.setenv("RUNWARDEN_RECONCILER", "off")
    return monkeypatch


def test_start_up_stops_on_a_bad_types_file(tmp_path, environment):
    path = toml(tmp_path, "[types.baseline_compare]\nrunning_stale = 60\n")
    environment.setenv("RUNWARDEN_OPERATION_TYPES", path)
    with pytest.raises(PolicyError, match="'baseline_compare'.*running_stale"):
        create_app(Config)


def test_start_up_uses_the_types_file_from_the_environment(tmp_path, environment):
    path = toml(tmp_path, "[types.baseline_compare]\nrunning_stale = 3600\n")
    environment.setenv("RUNWARDEN_OPERATION_TYPES", path)
    app = create_app(Config)
    assert app.extensions["runwarden.policy"].for_type("baseline_compare").running_stale == 3600
