"""The production-shape live figures: which (change, page) pairs count as seen, and when.

On SQLite the commit instant is the API's answer, taken after the commit. A push whose
feed read fell between the commit and the answer holds the change but carries an earlier
``data-as-of``; when no later change concerns the page, the ``current`` heartbeats are
the server's word that the page holds it.
"""

from bench.live_figures import commit_to_client, latencies

SENT, ANSWERED, END = 100.0, 100.010, 103.0
OVERVIEW = {"kind": "overview", "page": "/admin", "sees": [1, 2, 3], "tenant_id": None}
CHANGE = {"op": "create", "run_id": 7, "tenant_id": 3, "sent": SENT, "answered": ANSWERED}


def page(pushes, currents=()):
    return {"pushes": [list(p) for p in pushes], "currents": [list(c) for c in currents]}


def figures(report):
    by_kind, misses, _ = latencies([CHANGE], [OVERVIEW], [report], END, {})
    return by_kind, misses


def heartbeats(as_of):
    """``current`` heartbeats 2 s apart, each saying the page is current up to ``as_of``
    (a callable of the arrival, or a fixed instant)."""
    at = [ANSWERED + 2.0, ANSWERED + 4.0]
    return [(a, as_of(a) if callable(as_of) else as_of) for a in at]


def test_a_push_read_between_commit_and_answer_is_seen_once_the_heartbeat_says_current():
    # The failing run: read 4 ms before the answer, pushed 87 ms after it, no later push.
    report = page([(99.0, 98.9, 1), (ANSWERED + 0.087, ANSWERED - 0.004, 1)])
    report["currents"] = [list(c) for c in heartbeats(lambda a: a - 0.002)]
    by_kind, misses = figures(report)
    assert misses == []
    assert [round(s, 3) for s in by_kind["overview"]["commit"]] == [0.087]
    assert round(by_kind["overview"]["from_send"][0], 3) == 0.097
    result = commit_to_client([CHANGE], [OVERVIEW], [report], END, {})
    assert result["seen_by_heartbeat"] == 1 and result["commit_instant_from"]["answer"] == 1


def test_without_heartbeats_such_a_push_is_still_a_miss():
    report = page([(ANSWERED + 0.087, ANSWERED - 0.004, 1)])
    assert len(figures(report)[1]) == 1


def test_a_heartbeat_over_data_read_before_the_send_is_a_false_claim_and_a_miss():
    report = page([(99.0, SENT - 0.001, 1)], heartbeats(lambda a: a - 0.002))
    assert len(figures(report)[1]) == 1
    # Read exactly at the send: the change may be in it, the heartbeat vouches for it.
    report = page([(SENT + 0.05, SENT, 1)], heartbeats(lambda a: a - 0.002))
    assert figures(report)[1] == []


def test_a_heartbeat_still_current_only_to_before_the_commit_is_a_miss():
    # A wide page whose paced render was lost: its heartbeats keep its old data instant.
    report = page([(ANSWERED + 0.087, ANSWERED - 0.004, 1)], heartbeats(ANSWERED - 0.004))
    assert len(figures(report)[1]) == 1


def test_the_heartbeat_counts_from_exactly_the_commit_instant():
    pushes = [(ANSWERED + 0.087, ANSWERED - 0.004, 1)]
    assert figures(page(pushes, heartbeats(ANSWERED)))[1] == []
    assert len(figures(page(pushes, heartbeats(ANSWERED - 0.001)))[1]) == 1


def test_a_push_at_or_after_the_commit_before_any_heartbeat_is_the_one_taken():
    pushes = [(ANSWERED + 0.087, ANSWERED - 0.004, 1), (ANSWERED + 0.6, ANSWERED + 0.5, 1)]
    report = page(pushes, heartbeats(lambda a: a - 0.002))
    by_kind, misses = figures(report)
    assert misses == [] and round(by_kind["overview"]["commit"][0], 3) == 0.6
    assert commit_to_client([CHANGE], [OVERVIEW], [report], END, {})["seen_by_heartbeat"] == 0


def test_a_page_that_does_not_show_the_change_is_not_counted():
    hidden = dict(OVERVIEW, sees=[1, 2])
    result = commit_to_client([CHANGE], [hidden], [page([])], END, {})
    assert result["misses"] == 0 and result["all"]["n"] == 0
