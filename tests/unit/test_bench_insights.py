"""``make bench-insights`` and ``python -m bench.report_gaps`` end to end at a tiny scale:
every measure is taken and written. Figures are not judged (benchmarks measure)."""

import json

import sqlalchemy as sa


def test_bench_insights_times_every_page_and_spreads_gaps_once(tmp_path, monkeypatch, capsys):
    from bench.insights import main

    out = tmp_path / "insights.json"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bench.db'}")
    monkeypatch.setenv("BENCH_OUT", str(out))
    monkeypatch.setenv("RUNS", "3000")
    monkeypatch.setenv("BENCH_REQUESTS", "2")
    main()
    report = json.loads(out.read_text())
    assert set(report["results"]) == {
        "insights_30d",
        "insights_7d",
        "insights_tenant_30d",
        "insights_type_30d",
    }
    assert all(r["n"] == 2 and r["p95_ms"] > 0 for r in report["results"].values())
    assert "spread gaps" in capsys.readouterr().out
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'bench.db'}")
    with engine.connect() as conn:
        spread = conn.scalar(
            sa.text("SELECT count(*) FROM operation_runs WHERE heartbeat_gap_max > 0")
        )
    engine.dispose()
    assert spread > 0
    main()  # reused: the gaps are not spread again
    assert "spread gaps" not in capsys.readouterr().out


def test_report_gaps_compares_with_and_without(tmp_path, monkeypatch, capsys):
    from bench.report_gaps import main

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'gaps.db'}")
    monkeypatch.setenv("ROUNDS", "1")
    monkeypatch.setenv("CYCLES", "3")
    main()
    printed = capsys.readouterr().out
    assert "with gaps kept" in printed and "gaps left out" in printed
