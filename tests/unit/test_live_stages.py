"""The production measure's stages: a pair's time split at the timing log's instants."""

import pytest

from bench import live_stages

LOG = """\
read as_of=100.010000 at=100.030000 n=1
render page=/admin as_of=100.010000 taken=100.200000 start=100.500000 end=100.520000 n=2
sent page=/admin as_of=100.010000 at=100.600000 client=1
sent page=/admin as_of=100.010000 at=100.700000 client=2
render page=/admin/t/x as_of=100.010000 taken=100.200000 start=100.210000 end=100.220000 n=1
"""


def phase(*runs):
    return {
        "changes": [{"run_id": r, "tenant_id": None, "sent": 99.9, "answered": 100.1} for r in runs]
    }


def test_a_pair_is_split_at_read_sweep_render_send_and_arrival(tmp_path):
    (tmp_path / "t.log").write_text(LOG)
    specs = [{"kind": "overview", "page": "/admin", "sees": None}]
    reports = [{"pushes": [[99.0, 98.0, 10], [100.75, 100.01, 10]]}]  # the first is older
    found = live_stages.stages(phase(7), specs, reports, {7: [100.0]}, tmp_path / "t.log")
    assert (found["pairs"], found["joined"]) == (1, 1)
    expected = {"relay": 30, "to_sweep": 170, "before_render": 300, "render": 20}
    expected.update(to_socket=130, to_client=100, total=750)  # to_socket: median of sends
    for stage, ms in expected.items():
        assert found[stage]["p50_ms"] == pytest.approx(ms, abs=0.01), stage
    assert found["by_kind"]["overview"]["total"]["n"] == 1


def test_a_push_with_no_render_or_send_in_the_log_is_counted_but_not_split(tmp_path):
    (tmp_path / "t.log").write_text(LOG)
    specs = [{"kind": "overview", "page": "/admin", "sees": None}]
    reports = [{"pushes": [[101.0, 100.5, 10]]}]
    found = live_stages.stages(phase(7), specs, reports, {7: [100.0]}, tmp_path / "t.log")
    assert (found["pairs"], found["joined"]) == (1, 0) and found["total"] == {"n": 0}
    missing = live_stages.stages(phase(7), specs, reports, {7: [100.0]}, tmp_path / "none.log")
    assert missing["joined"] == 0


def test_the_client_process_figures_cover_only_the_window():
    lag = [[10.0, 0.001, 1.0], [11.0, 0.004, 1.5], [12.0, 0.002, 2.0], [20.0, 0.5, 9.0]]
    found = live_stages.client_process(lag, 10.0, 12.0)
    assert found["cpu_cores"] == 0.5 and found["loop_lag"]["max_ms"] == 4.0
    assert live_stages.client_process(lag, 30.0, 40.0) == {}
