"""The presenter's words, badges and summaries, over runs that need no database."""

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from app.models import OperationRun
from app.operations.freshness import freshness
from app.operations.policy import DEFAULT_TYPES, Policy
from app.presenter import api_fields, attention_summary, badge, decision_truth, guidance
from app.presenter.banners import AttentionCounts, banner
from app.presenter.formatting import duration, plain, relative
from app.presenter.links import safe_back

NOW = datetime(2026, 11, 26, 14, 0, 0)
MIN = timedelta(minutes=1)
# baseline_compare with a long grace, so a 47 min silence is still awaiting the reconciler
POLICY = Policy(
    {"baseline_compare": replace(DEFAULT_TYPES["baseline_compare"], reconcile_grace=74 * 60)}
)


def run(status="running", started=50, heartbeat=None, created=None, **fields):
    started_at = None if status == "queued" else NOW - started * MIN
    created_at = NOW - (created if created is not None else started + 1) * MIN
    return OperationRun(
        type="baseline_compare",
        status=status,
        outcome=fields.pop("outcome", "pending"),
        created_at=created_at,
        started_at=started_at,
        last_heartbeat_at=None if heartbeat is None else NOW - heartbeat * MIN,
        **fields,
    )


def words(r, density="card"):
    """What a reader reads (aging spans taken off)."""
    return plain(guidance(r, freshness(r, POLICY, NOW), NOW, density))


@pytest.mark.parametrize(
    "seconds, text",
    [
        (0, "0 s"),
        (42, "42 s"),
        (60, "1 min"),
        (47 * 60 + 59, "47 min"),
        (3600, "1 h"),
        (3 * 3600 + 12 * 60, "3 h 12 min"),
        (86400, "1 d"),
        (2 * 86400 + 4 * 3600 + 5, "2 d 4 h"),
    ],
)
def test_durations_are_humanised(seconds, text):
    assert duration(seconds) == text


def test_relative_times():
    assert relative(NOW - timedelta(seconds=2), NOW) == "just now"
    assert relative(NOW - 47 * MIN, NOW) == "47 min ago"
    assert relative(NOW - timedelta(hours=17, minutes=55), NOW) == "17 h ago"
    assert relative(NOW + 5 * MIN, NOW) == "in 5 min"


def test_likely_stale_guidance_names_expected_observed_and_closing_time():
    stale = run(heartbeat=47)
    assert words(stale) == (
        "Likely stale: no heartbeat for 47 min (limit 5 min). "
        "Will be closed as failed at 14:32 UTC unless it reports progress."
    )
    assert words(stale, "row") == "No heartbeat for 47 min (limit 5 min) · closes 14:32 UTC"


def test_stale_run_just_past_its_limit_shows_seconds():
    just = run(started=8, heartbeat=0)
    just.last_heartbeat_at = NOW - timedelta(minutes=5, seconds=20)
    assert words(just).startswith("Likely stale: no heartbeat for 5 min 20 s (limit 5 min).")


def test_stale_run_past_its_reconcile_time_says_it_is_due():
    overdue = run(started=200, heartbeat=190)
    assert "Due to be closed as failed on the reconciler's next pass." in words(overdue)


def test_other_stale_reasons():
    assert words(run(status="queued", created=20)).startswith(
        "Likely stale: queued for 20 min without starting (limit 15 min)."
    )
    assert "unless it starts" in words(run(status="queued", created=20))
    lifecycle = run(started=45, heartbeat=1)
    assert words(lifecycle).startswith("Likely stale: running for 45 min, past its 30 min window.")
    assert "unless it completes" in words(lifecycle)


def test_past_expected_guidance_is_calm_and_says_until_when():
    late = run(started=15, heartbeat=1)
    text = words(late)
    assert text == (
        "Running longer than expected (15 min, usually 10 min); "
        "still within its 30 min window until 14:15 UTC."
    )
    assert "stale" not in text.lower()


def test_fresh_guidance():
    assert (
        words(run(started=3, heartbeat=0))
        == "On track: running for 3 min, usually done within 10 min."
    )
    assert (
        words(run(status="queued", created=1)) == "Queued 1 min ago, usually starts within 2 min."
    )


def reconciled():
    return run(
        status="completed",
        outcome="failed",
        completed_at=NOW - 10 * MIN,
        reconciled_at=NOW - 10 * MIN,
        reconciliation_reason="stale_no_heartbeat",
        reconciliation_message="No heartbeat for more than 5 min; closed as failed",
    )


def test_reconciled_guidance_says_who_why_and_that_late_reports_are_kept():
    assert words(reconciled()) == (
        "Closed as failed by the reconciler at 13:50 UTC: no heartbeat arrived within its "
        "limit. Late reports are kept on its timeline."
    )


def test_terminal_guidance():
    done = run(status="completed", outcome="succeeded", started=10, completed_at=NOW - 6 * MIN)
    assert words(done) == "Succeeded in 4 min."
    failed = run(
        status="completed",
        outcome="failed",
        started=10,
        completed_at=NOW,
        failure_message="Token expired",
    )
    assert words(failed) == "Failed after 10 min: Token expired."


@pytest.mark.parametrize(
    "make, label, tone, icon",
    [
        (lambda: run(started=3, heartbeat=0), "Running", "info", "play"),
        (lambda: run(status="queued", created=1), "Queued", "neutral", "clock"),
        (lambda: run(started=15, heartbeat=1), "Running long", "warning", "hourglass"),
        (lambda: run(heartbeat=47), "Likely stale", "danger", "alert"),
        (reconciled, "Failed · reconciled", "danger", "cross"),
        (
            lambda: run(status="completed", outcome="succeeded", completed_at=NOW),
            "Succeeded",
            "success",
            "check",
        ),
    ],
)
def test_badges_have_text_tone_and_icon(make, label, tone, icon):
    r = make()
    b = badge(r, freshness(r, POLICY, NOW))
    assert (b.label, b.tone, b.icon) == (label, tone, icon)


def test_decision_truth_headlines():
    def headline(r):
        return decision_truth(r, freshness(r, POLICY, NOW), NOW).headline

    assert headline(run(started=3, heartbeat=0)) == "Running normally"
    assert headline(run(started=15, heartbeat=1)) == "Running longer than expected"
    assert headline(run(heartbeat=47)) == "Likely stale: treat it as not running"
    assert headline(reconciled()) == "Failed: closed by the reconciler"


def test_banners_only_for_states_that_need_a_diagnosis():
    def kind(r):
        found = banner(r, freshness(r, POLICY, NOW), NOW)
        return found and found.kind

    assert kind(run(started=3, heartbeat=0)) is None
    assert kind(run(started=15, heartbeat=1)) == "past_expected"
    assert kind(run(heartbeat=47)) == "likely_stale"
    assert kind(reconciled()) == "reconciled_failed"


@pytest.mark.parametrize(
    "counts, text, tone",
    [
        (AttentionCounts(0, 0, 0), "No active operations", "neutral"),
        (AttentionCounts(1, 0, 0), "1 active, on track", "success"),
        (AttentionCounts(3, 0, 0), "3 active, all on track", "success"),
        (AttentionCounts(3, 0, 1), "3 active · 1 likely stale", "danger"),
        (AttentionCounts(3, 1, 0), "3 active · 1 running long", "warning"),
        (AttentionCounts(4, 1, 1), "4 active · 1 likely stale · 1 running long", "danger"),
        (AttentionCounts(2, 0, 2), "2 active · all likely stale", "danger"),
        (AttentionCounts(1, 0, 1), "1 active · 1 likely stale", "danger"),
    ],
)
def test_attention_summary(counts, text, tone):
    summary = attention_summary(counts)
    assert (summary.text, summary.tone) == (text, tone)


def test_attention_summary_of_runs_never_says_all_when_only_some_are_stale():
    runs = [run(started=3, heartbeat=0), run(started=4, heartbeat=0), run(heartbeat=47)]
    summary = attention_summary(freshness(r, POLICY, NOW) for r in runs)
    assert summary.text == "3 active · 1 likely stale"


def test_api_fields():
    stale = run(heartbeat=47)
    fields = api_fields(stale, freshness(stale, POLICY, NOW), NOW)
    assert fields == {
        "badge": {"label": "Likely stale", "tone": "danger", "icon": "alert"},
        "guidance": words(stale),
    }


@pytest.mark.parametrize(
    "value, kept",
    [
        ("/admin/operations", True),
        ("/admin/operations?activeTab=active&cursor=abc", True),
        ("/admin/operationsX", False),
        ("/admin/t/x", False),
        ("//evil.example/admin/operations", False),
        ("https://evil.example/admin/operations", False),
        ("/admin/operations\\@evil", False),
        ("", False),
        (None, False),
    ],
)
def test_safe_back(value, kept):
    assert safe_back(value) == (value if kept else None)


def test_activities_add_up_field_by_field():
    from dataclasses import fields

    from app.operations.reads import Activity

    counts = [f for f in fields(Activity) if f.type is int]
    one = Activity(*range(1, len(counts) + 1))
    assert one + one == Activity(*(2 * n for n in range(1, len(counts) + 1)))
    assert one + Activity() == one
    # the instants of the earliest follow-ups: the earliest of either side
    early, late = NOW - timedelta(hours=2), NOW - timedelta(hours=1)
    a = Activity(follow_up=1, follow_up_first_at=late, follow_up_24h_first_at=late)
    b = Activity(follow_up=1, follow_up_first_at=early)
    assert (a + b).follow_up_first_at == (b + a).follow_up_first_at == early
    assert (a + b).follow_up_24h_first_at == late


def test_durations_in_sentences_count_on_the_page_from_their_instant():
    stale = run(heartbeat=47)
    html = str(guidance(stale, freshness(stale, POLICY, NOW), NOW, "row"))
    since = (NOW - timedelta(minutes=47)).isoformat(timespec="microseconds") + "Z"
    assert f'<span data-since="{since}" data-limit="300">47 min</span>' in html
    fresh = run(started=3)
    html = str(guidance(fresh, freshness(fresh, POLICY, NOW), NOW, "row"))
    since = (NOW - timedelta(minutes=3)).isoformat(timespec="microseconds") + "Z"
    assert f'running <span data-since="{since}">3 min</span>' in html


def test_sentences_escape_what_a_worker_wrote():
    from jinja2 import Environment

    hostile = "<script>alert(1)</script>"
    failed = run(status="completed", outcome="failed", failure_message=hostile, completed_at=NOW)
    stale = run(heartbeat=47, initiator=hostile)
    page = Environment(autoescape=True).from_string("{{ a }} | {{ b }}")
    html = page.render(
        a=guidance(failed, freshness(failed, POLICY, NOW), NOW, "row"),
        b=guidance(stale, freshness(stale, POLICY, NOW), NOW, "row"),
    )
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in html
    assert "<span data-since=" in html
