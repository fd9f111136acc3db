"""``make bench`` end to end on a small SQLite data set: every measure is taken, the report
has the documented shape, the data set is reused, and a database with other data is
refused. Figures are not judged here (benchmarks measure, tests do not time)."""

import json

import pytest

from bench.__main__ import main

PAGES = {
    "workspace_overview",
    "tenant_dashboard",
    "overlay_frame",
    *(
        f"list_{tab}_{depth}"
        for tab in ("all", "active", "active_stale_attention", "terminal_follow_up")
        for depth in ("first", "deep")
    ),
    "list_tenant_filtered",
    "detail",
    "api_list",
    "detail_100k_events",
    "detail_100k_events_oldest",
    "api_get_100k_events",
    "api_get_100k_events_oldest",
    # The list's search, time ranges and duration order (issue: find a run).
    "list_search_id",
    "list_search_common_text",
    "list_search_rarer_text",
    "list_search_absent_text",
    "list_range_1h",
    "list_range_7d",
    "list_range_custom_hour_30d_ago",
    "list_range_custom_hour_in_a_zone",
    "list_search_and_range",
    "list_sort_duration_24h",
}
RUNS = 3000
REQUESTS = 2


@pytest.fixture
def bench_env(tmp_path, monkeypatch):
    out = tmp_path / "report.json"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bench.db'}")
    monkeypatch.setenv("BENCH_OUT", str(out))
    monkeypatch.setenv("BENCH_TIMELINE_EVENTS", "200")  # the long timeline, made short
    return out


def test_bench_takes_every_measure_and_reuses_its_data_set(bench_env, capsys):
    main(["--runs", str(RUNS), "--requests", str(REQUESTS)])

    report = json.loads(bench_env.read_text())
    assert (report["db"], report["runs"]) == ("sqlite", RUNS)
    assert "cores" in report["machine"] and len(report["cpu_reference_ms"]) == 2
    results = report["results"]
    assert set(results) == PAGES | {
        "api_ingest_throughput",
        "reconcile_empty_pass",
        "reconcile_10k_stale",
    }
    for name in PAGES:
        assert results[name]["n"] == REQUESTS
        assert 0 < results[name]["p50_ms"] <= results[name]["p95_ms"]
    assert results["api_ingest_throughput"]["n"] == 300  # 100 create + heartbeat + complete
    assert results["api_ingest_throughput"]["per_s"] > 0
    assert results["reconcile_empty_pass"]["n"] == 10
    assert results["reconcile_10k_stale"]["reconciled"] == 10_000
    assert "generated 3000 runs" in capsys.readouterr().out

    main(["--runs", str(RUNS), "--requests", str(REQUESTS)])
    assert f"reusing bench data: {RUNS} runs" in capsys.readouterr().out


def test_bench_refuses_a_database_holding_other_data(bench_env):
    main(["--runs", str(RUNS), "--requests", str(REQUESTS)])

    with pytest.raises(SystemExit, match="holds other data"):
        main(["--runs", str(RUNS + 1), "--requests", str(REQUESTS)])


def test_live_production_shape_measures_simulated_pages_end_to_end(tmp_path):
    """The production-shape live measure on a small SQLite set: web and live gunicorn, a
    reconciler process, simulated pages of every kind, a stalled socket and a run with a
    long timeline whose pushes are reported apart from the other runs'."""
    from bench.live_latency import main as live_main

    out = tmp_path / "live.json"
    live_main(
        ["--shape", "production", "--database-url", f"sqlite:///{tmp_path / 'live.db'}"]
        + ["--runs", "2000", "--clients", "16", "--rate", "6", "--seconds", "2"]
        + ["--settle", "1", "--fill-timeout", "0", "--long-timeline", "300", "--out", str(out)]
    )

    report = json.loads(out.read_text())
    results = report["results"]
    assert results["pages_open"] == 16
    assert set(results["mix"]) == {"overview", "dashboard", "list", "detail"}
    assert set(results["phases"]) == {"none", "open", "stalled"}
    for name in ("none", "open", "stalled"):
        phase = results["phases"][name]
        # SQLite serialises the writers: a call may fail there; the report counts it.
        assert phase["changes"] > 0 and phase["worker_api_heartbeat"]["n"] > 0
        assert "failed" in phase["worker_api_heartbeat"]
        assert phase["page_loads"]["all"]["n"] > 0 and not phase["page_loads"]["errors"]
    for name in ("open", "stalled"):
        seen = results["phases"][name]["commit_to_client"]
        assert seen["all"]["n"] > 0 and seen["misses"] == 0
        assert {"n", "missing"} <= set(results["phases"][name]["flip_lateness"])
        apart = [
            results["phases"][name][f"commit_to_client_{p}"] for p in ("other_runs", "hot_run")
        ]
        assert sum(part["changes"] for part in apart) == seen["changes"]
        assert all(part["misses"] == 0 for part in apart) and apart[0]["all"]["n"] > 0
    hot = [results["phases"][name]["commit_to_client_hot_run"] for name in ("open", "stalled")]
    assert sum(part["changes"] for part in hot) > 0  # a fifth of the changes go to that run
    assert all(part["all"].get("n", 0) >= part["changes"] for part in hot)  # its pages see each
    assert report["long_timeline"] == 300
    live = results["live_process"]
    assert live["rss_mib_with_pages"] > 0 and live["cpu_s_per_change"] >= 0
    assert results["stalled_client"]["sockets"], "the stalled socket was never opened"
    assert report["load_average"]["before"] and report["machine"]


def test_live_sweep_measures_the_worker_s_sweeps_in_one_process(tmp_path):
    """bench.live_sweep on a small SQLite set: pages of every kind registered, changes
    written, sweeps rendered and their shared reads counted."""
    from bench.live_sweep import main as sweep_main

    out = tmp_path / "sweep.json"
    sweep_main(
        ["--database-url", f"sqlite:///{tmp_path / 'sweep.db'}", "--runs", "2000"]
        + ["--clients", "40", "--rate", "8", "--sweeps", "3", "--out", str(out)]
    )

    results = json.loads(out.read_text())["results"]
    assert results["clients"] == 40 and results["sweeps"] == 3 and results["changes"] > 0
    assert set(results["kinds"]) == {"overview", "dashboard", "list", "detail"}
    assert results["renders_per_sweep"] > 0 and results["pushes_per_sweep"] > 0
    assert results["statements_per_sweep"] > 0 and results["cpu_ms_per_change"] > 0
    assert 0 < results["deflate_once_per_push_ms_per_sweep"]
    assert (
        results["deflate_once_per_push_ms_per_sweep"]
        <= (results["deflate_per_client_ms_per_sweep"])
    )


def test_a_reused_data_set_keeps_its_expression_indexes(app, db, capsys):
    """An index on an expression (the search index) is taken as it is: it was dropped and
    built again on every reuse, and on PostgreSQL that DROP waited forever for the count's
    open transaction."""
    import sqlalchemy as sa

    from bench.__main__ import _add_missing_indexes

    db.create_all()
    expressions = {
        index.name
        for index in db.metadata.tables["operation_runs"].indexes
        if any(not isinstance(e, sa.Column) for e in index.expressions)
    }
    present = {index["name"] for index in sa.inspect(db.engine).get_indexes("operation_runs")}
    expressions &= present  # PostgreSQL's: SQLite has no trigram index
    _add_missing_indexes(sa.inspect(db.engine))
    printed = capsys.readouterr().out
    assert not any(name in printed for name in expressions), printed
