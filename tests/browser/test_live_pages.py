"""An operator's open pages follow every change, and flip on time, without a reload."""

import json
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta

import pytest

from app.extensions import db
from app.models import OperationRun
from app.operations.clock import SystemClock
from app.operations.lifecycle import create_run
from tests.browser.conftest import ROOT, LiveServer, Page

pytestmark = pytest.mark.browser
PUSH_WITHIN_MS = 3_000


def write_run(site, tenant, *, type="baseline_compare", started_ago=0.0, status="running"):
    """A run committed by this process (another process than the server); returns its id."""
    with site.app.app_context():
        now = SystemClock().now()
        start = now - timedelta(seconds=started_ago)
        run = create_run(
            workspace_id=site.workspace_id,
            tenant_id=tenant.id if tenant else None,
            type=type,
            now=now,
            actor="browser-test",
            status=status,
            created_at=start - timedelta(seconds=1),
            started_at=start,
        )
        run_id, started_at = run.id, run.started_at
        db.session.remove()
    return run_id, started_at


def api(site, server, path, body):
    request = urllib.request.Request(
        f"{server.base}/api/v1{path}",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {site.token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def card(run_id):
    return f'#active-operations [data-run-id="{run_id}"]'


def test_a_worker_completing_through_the_api_updates_the_dashboard(browser, site, server):
    owner = Page(browser, server.base, "owner@example.test").open(f"/admin/t/{site.alpha.uuid}")
    active_before = owner.kpi("active")

    created = api(
        site,
        server,
        "/runs",
        {"type": "baseline_compare", "tenant": site.alpha.uuid, "status": "running"},
    )
    owner.page.wait_for_selector(card(created["id"]), timeout=PUSH_WITHIN_MS)
    assert owner.kpi("active") == active_before + 1

    api(site, server, f"/runs/{created['id']}/complete", {"outcome": "succeeded"})
    owner.page.wait_for_selector(card(created["id"]), state="detached", timeout=PUSH_WITHIN_MS)

    assert owner.kpi("active") == active_before
    assert any(f'data-run-id="{created["id"]}"' in push for push in owner.pushes())
    assert owner.never_reloaded()
    owner.close()


def test_a_separate_reconciler_process_closing_a_stale_run_shows_at_once(browser, site, server):
    stale_id, _ = write_run(site, site.alpha, started_ago=3 * 3600)
    owner = Page(browser, server.base, "owner@example.test").open(f"/admin/t/{site.alpha.uuid}")
    assert owner.freshness_of(stale_id) == "likely_stale"
    stale_before = owner.kpi("likely_stale")
    assert stale_before >= 1

    subprocess.run(
        [sys.executable, "-m", "flask", "reconcile", "--once"],
        cwd=ROOT,
        env=site.env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    owner.page.wait_for_selector(card(stale_id), state="detached", timeout=PUSH_WITHIN_MS)

    assert owner.kpi("likely_stale") == 0
    with site.app.app_context():
        assert db.session.get(OperationRun, stale_id).reconciled_at is not None
        db.session.remove()
    assert owner.never_reloaded()
    owner.close()


def test_a_run_crosses_its_thresholds_with_no_write_at_all(browser, site, server):
    run_id, started_at = write_run(site, site.alpha, type="quick_check")
    owner = Page(browser, server.base, "owner@example.test").open(f"/admin/t/{site.alpha.uuid}")
    assert owner.freshness_of(run_id) == "fresh"
    expected = {
        "past_expected": started_at + timedelta(seconds=4),
        "likely_stale": started_at + timedelta(seconds=8),
    }
    observed = {}
    for state in ("past_expected", "likely_stale"):
        owner.page.wait_for_selector(f'{card(run_id)}[data-freshness="{state}"]', timeout=12_000)
        observed[state] = SystemClock().now()

    for state, at in expected.items():
        late = (observed[state] - at).total_seconds()
        assert 0 <= late < 1.5, f"{state} flipped {late:.3f} s after its threshold"
    assert owner.kpi("likely_stale") >= 1
    assert owner.never_reloaded()
    owner.close()


def test_a_viewer_of_another_tenant_receives_nothing(browser, site, server):
    viewer = Page(browser, server.base, "bravo@example.test").open(f"/admin/t/{site.bravo.uuid}")
    owner = Page(browser, server.base, "owner@example.test").open(f"/admin/t/{site.alpha.uuid}")

    alpha_id, _ = write_run(site, site.alpha)
    owner.page.wait_for_selector(card(alpha_id), timeout=PUSH_WITHIN_MS)
    bravo_id, _ = write_run(site, site.bravo)
    viewer.page.wait_for_selector(card(bravo_id), timeout=PUSH_WITHIN_MS)

    seen = " ".join(str(payload) for _, payload in viewer.frames)
    assert f'data-run-id="{alpha_id}"' not in seen
    assert "Alpha" not in seen and site.alpha.uuid not in seen
    assert all(f'data-run-id="{bravo_id}"' in push for push in viewer.pushes())
    viewer.close()
    owner.close()


def test_after_a_server_restart_the_page_reconnects_and_catches_up(browser, site):
    server = LiveServer(site.env).start()
    try:
        owner = Page(browser, server.base, "owner@example.test").open(f"/admin/t/{site.alpha.uuid}")
        server.stop()
        owner.page.wait_for_selector("#live-status[data-state=lost]", timeout=10_000)
        status = owner.page.inner_text("#live-status")
        assert status.startswith("Connection lost — showing data from ") and "UTC" in status

        missed_id, _ = write_run(site, site.alpha)
        server.start()
        owner.wait_live(timeout=20_000)
        owner.page.wait_for_selector(card(missed_id), timeout=PUSH_WITHIN_MS)
        assert owner.page.inner_text("#live-status").startswith("Live · updated ")
        assert owner.never_reloaded()
        owner.close()
    finally:
        server.stop()


def test_with_the_socket_blocked_the_page_says_so_and_polling_keeps_it_right(browser, site, server):
    owner = Page(browser, server.base, "owner@example.test")
    owner.page.route_web_socket("**/live/stream**", lambda ws: ws.close())
    owner.page.goto(f"{server.base}/admin/t/{site.alpha.uuid}")
    owner.page.wait_for_selector("#live-status[data-state=lost]", timeout=10_000)
    owner.page.evaluate("window.__sameDocument = true")
    owner.frames.clear()
    assert owner.page.inner_text("#live-status").startswith("Connection lost — showing data from")

    run_id, _ = write_run(site, site.alpha)
    began = time.monotonic()
    owner.page.wait_for_selector(card(run_id), timeout=10_000)

    assert time.monotonic() - began < 6, "the fallback polls every 2 s in these tests"
    assert owner.page.get_attribute("#live-status", "data-state") == "lost"
    assert owner.pushes() == []
    assert owner.never_reloaded()
    owner.close()
