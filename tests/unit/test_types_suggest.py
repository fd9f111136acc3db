"""`flask types suggest`: the insights as JSON, scoped to a workspace (and a tenant)."""

import tomllib

import pytest

from app.operations.policy import load_policy
from app.operations.suggestions import whole_seconds
from tests.conftest import same_bucket_or_next
from tests.factories import add_runs, make_tenant, make_workspace
from tests.unit.conftest import error, ok


def test_suggest_prints_percentiles_alarms_and_a_toml_that_loads(cli, db, tmp_path):  # noqa: F811
    workspace = make_workspace(slug="acme")
    make_workspace(slug="other")
    add_runs(workspace, range(1, 101), type="inventory_sync", processed=3)
    out = ok(cli("types", "suggest", "--workspace", "acme", "--type", "inventory_sync"))
    assert out["workspace"] == "acme" and out["window_days"] == 30 and out["min_runs"] == 30
    (t,) = out["types"]
    assert t["type"] == "inventory_sync" and t["completed"] == 100
    run_time = t["measures"]["run_time"]
    assert same_bucket_or_next(run_time["p50"], 50.5) and run_time["max"] == 100
    assert same_bucket_or_next(run_time["p90"], 90.1)
    assert same_bucket_or_next(run_time["p99"], 99.01)
    expected = whole_seconds(run_time["p90"])  # p90, rounded up
    stale = whole_seconds(run_time["p99"] * 1.25)
    assert t["suggestions"]["running_expected"]["suggested"] == expected
    assert t["suggestions"]["running_stale"]["suggested"] == stale
    assert t["gaps_known"] == {"runs": 100, "of": 100}
    path = tmp_path / "types.toml"
    path.write_text(out["toml"])
    loaded = load_policy(str(path)).types["inventory_sync"]
    assert (loaded.running_expected, loaded.running_stale) == (expected, stale)
    assert tomllib.loads(out["toml"])["types"]["inventory_sync"]["queued_expected"] == 5


def test_suggest_is_scoped_to_the_workspace_and_tenant(cli, db):  # noqa: F811
    workspace, other = make_workspace(slug="acme"), make_workspace(slug="other")
    tenant = make_tenant(workspace, slug="north")
    add_runs(workspace, [10] * 40, tenant=tenant)
    add_runs(workspace, [20] * 5)
    add_runs(other, [99] * 50)
    out = ok(cli("types", "suggest", "--workspace", "acme", "--window", "7d"))
    (t,) = [t for t in out["types"] if t["type"] == "baseline_compare"]
    assert t["completed"] == 45 and t["measures"]["run_time"]["max"] == 20
    out = ok(cli("types", "suggest", "--workspace", "acme", "--tenant", "north"))
    (t,) = [t for t in out["types"] if t["type"] == "baseline_compare"]
    assert t["completed"] == 40
    assert t["measures"]["run_time"]["max"] == 10


@pytest.mark.parametrize(
    "args, message",
    [
        (["--window", "0d"], "window must be a number of days"),
        (["--window", "30"], "window must be a number of days"),
        (["--window", "367d"], "window must be a number of days"),
        (["--window", "3０d"], "window must be a number of days"),
        (["--type", "nope"], "unknown operation type 'nope'"),
        (["--tenant", "nope"], "no tenant 'nope' in workspace 'acme'"),
        (["--workspace", "x" * 5000], "no workspace"),
    ],
)
def test_bad_arguments_are_json_errors(cli, db, args, message):  # noqa: F811
    make_workspace(slug="acme")
    if "--workspace" not in args:
        args = ["--workspace", "acme", *args]
    assert message in error(cli("types", "suggest", *args))


def test_several_workspaces_need_a_name(cli, db):  # noqa: F811
    make_workspace(), make_workspace()
    assert "--workspace" in error(cli("types", "suggest"))
