"""One randomized data set: KPIs, needs attention, overview cards, overlay and list tabs agree
with each other and with the Python truth."""

import random
from collections import Counter
from datetime import timedelta

from app.operations.freshness import freshness, problem_class
from tests.conftest import T0, login
from tests.factories import make_member, make_run, make_tenant, make_user, make_workspace
from tests.web.html import kpis, parse, tab_counts

SEED = 20261126
TYPES = ["inventory_sync", "baseline_compare", "policy_restore", "report_export", "legacy_job"]


def random_run(rng, ws, tenant):
    status = rng.choice(["queued", "running", "running", "completed", "completed"])
    age = rng.randint(5, 3 * 3600)
    fields = dict(now=T0, type=rng.choice(TYPES), status=status, age=age)
    if status == "running":
        if rng.random() < 0.7:
            fields["heartbeat_ago"] = rng.randint(0, age)
        if rng.random() < 0.5:
            fields["progress_ago"] = rng.randint(0, age)
            fields["processed"], fields["total"] = rng.randint(0, 50), 100
    if status == "completed":
        fields["outcome"] = rng.choice(["succeeded", "failed", "partially_succeeded", "cancelled"])
        fields["completed_ago"] = rng.randint(0, 10 * 24 * 3600)
        fields["reconciled"] = fields["outcome"] == "failed" and rng.random() < 0.4
    return make_run(ws, tenant, **fields)


def truth(runs, policy, tenant_id):
    counts = Counter()
    for run in runs:
        if run.tenant_id != tenant_id:
            continue
        state = freshness(run, policy, T0)
        problem = problem_class(run, policy, T0)
        counts["active"] += state.is_active
        counts["past_expected"] += state.state == "past_expected"
        counts["likely_stale"] += problem == "active_stale_attention"
        counts["follow_up"] += problem == "terminal_follow_up"
        recent = run.completed_at is not None and run.completed_at >= T0 - timedelta(days=1)
        counts["follow_up_24h"] += problem == "terminal_follow_up" and recent
    return counts


def test_counts_agree_across_every_surface(client, db, policy):
    rng = random.Random(SEED)
    ws = make_workspace()
    tenants = [make_tenant(ws, name=f"Tenant {i}") for i in range(4)]
    owner = make_user()
    make_member(owner, ws, "owner")
    runs = [random_run(rng, ws, rng.choice([*tenants, None])) for _ in range(90)]
    login(client, owner)

    overview = parse(client.get("/admin").data)
    totals = {n.attrs["data-total"]: int(n.text) for n in overview.find_all("data-total")}
    workspace_tabs = tab_counts(parse(client.get("/admin/operations").data))
    assert totals["active"] == workspace_tabs["active"]
    assert totals["likely_stale"] == workspace_tabs["active_stale_attention"]
    assert totals["follow_up"] == workspace_tabs["terminal_follow_up"]
    assert workspace_tabs["all"] == len(runs)

    checked = Counter()
    for tenant in tenants:
        expected = truth(runs, policy, tenant.id)
        card = overview.find("data-tenant-card", tenant.uuid)
        card_counts = {
            n.attrs["data-card-count"]: int(n.text) for n in card.find_all("data-card-count")
        }
        dashboard = parse(client.get(f"/admin/t/{tenant.uuid}").data)
        attention = {
            n.attrs["data-attention"]: int(n.attrs["data-total"])
            for n in dashboard.find_all("data-attention")
        }
        tabs = tab_counts(parse(client.get(f"/admin/operations?tenant_id={tenant.id}").data))
        overlay = parse(client.get(f"/admin/t/{tenant.uuid}/active-operations").data)

        assert kpis(dashboard) == {
            "active": expected["active"],
            "past_expected": expected["past_expected"],
            "likely_stale": expected["likely_stale"],
            "follow_up_24h": expected["follow_up_24h"],
        }
        assert card_counts == {
            k: expected[k] for k in ("active", "past_expected", "likely_stale", "follow_up")
        }
        assert tabs["active"] == expected["active"]
        assert tabs["active_stale_attention"] == expected["likely_stale"]
        assert tabs["terminal_follow_up"] == expected["follow_up"]
        if expected["likely_stale"] or expected["follow_up"]:
            assert attention == {
                "active_stale_attention": expected["likely_stale"],
                "terminal_follow_up": expected["follow_up"],
            }
        shown = overlay.find_all("data-run-id")
        more = overlay.find("class", "overlay-more")
        hidden = int(more.text.split()[0].lstrip("+")) if more else 0
        assert len(shown) + hidden == expected["active"]
        stale_shown = [n for n in shown if n.attrs["data-freshness"] == "likely_stale"]
        assert len(stale_shown) == min(expected["likely_stale"], len(shown))
        checked.update(expected)
    # the data set must exercise every count, or the agreement proves little
    assert all(checked[k] > 0 for k in ("active", "past_expected", "likely_stale", "follow_up"))
    assert checked["follow_up_24h"] > 0
