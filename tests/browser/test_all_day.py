"""The all-day operator's pages in Chromium: axe-core on every page for every role in
light and dark mode, long text that never scrolls sideways, severity order with 66
tenants, search and time range, the title count and the time-zone choice."""

import re
from pathlib import Path

import pytest

from tests.browser.conftest import PASSWORD, ROOT, LiveServer
from tests.browser.screenshots import pages
from tests.browser.ux_site import STALE_TENANTS, USERS, build_ux_site

pytestmark = pytest.mark.browser
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
RANKS = ["likely_stale", "past_expected", "follow_up", "healthy", "never_reported"]


@pytest.fixture(scope="module")
def ux(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("all-day")
    return build_ux_site(tmp, f"sqlite:///{tmp / 'runwarden.db'}")


@pytest.fixture(scope="module")
def server(ux):
    live = LiveServer(ux.env).start()
    yield live
    live.stop()


def signed_in(browser, server, email, **options):
    """A new context (its own cookies) signed in as ``email``; returns (context, page)."""
    context = browser.new_context(bypass_csp=True, **options)
    page = context.new_page()
    page.goto(f"{server.base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    return context, page


# A live page once its socket is live; the insights page (not live) once it shows its age.
READY = "#live-status[data-state=live], #page-age"


def open_live(page, url):
    page.goto(url)
    page.wait_for_selector(READY, timeout=15_000)


def axe_violations(page):
    if not Path(AXE).exists():
        pytest.fail("axe-core is missing: run `npm install` (make setup)")
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async () => {
          const result = await axe.run(document, { resultTypes: ["violations"] });
          return result.violations.map((v) => ({
            id: v.id, impact: v.impact,
            nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ") + " " + n.failureSummary),
          }));
        }"""
    )


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_nothing_on_any_page_for_any_role(browser, ux, server, scheme):
    found, checked = {}, set()
    for email, role in USERS:
        context, page = signed_in(
            browser, server, email, color_scheme=scheme, viewport={"width": 1440, "height": 900}
        )
        try:
            for name, path in pages(ux, role):
                open_live(page, f"{server.base}{path}")
                violations = axe_violations(page)
                checked.add((role, name))
                if violations:
                    found[f"{role} {name}"] = violations
                if name == "wall":
                    page.goto(f"{server.base}/admin?wall=0")
        finally:
            context.close()
    assert found == {}
    assert {("owner", "insights"), ("operator", "insights")} <= checked


@pytest.mark.parametrize("width,height", [(1440, 900), (390, 844)])
def test_long_text_never_scrolls_sideways(browser, ux, server, width, height):
    context, page = signed_in(
        browser, server, "owner@example.test", viewport={"width": width, "height": height}
    )
    wide = {}
    try:
        for name, path in pages(ux, "owner"):
            open_live(page, f"{server.base}{path}")
            scroll = page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            if scroll[0] > scroll[1]:
                wide[name] = scroll
    finally:
        context.close()
    assert wide == {}


def test_a_long_message_shows_two_lines_then_all_of_it_once(browser, ux, server):
    context, page = signed_in(browser, server, "owner@example.test")
    try:
        open_live(page, f"{server.base}/admin/operations/{ux.ux.failed_run}")
        assert page.locator("[data-message]").count() == 1
        assert page.content().count("503 Service Unavailable after 30 s; the upstream") <= 60
        text = page.locator(".message-text")
        clipped = text.evaluate("e => e.clientHeight")
        assert clipped < 60
        more = page.locator("[data-message-more]")
        more.wait_for(state="visible", timeout=5_000)
        more.click()
        page.wait_for_function(
            "document.querySelector('.message-text').clientHeight > 200", timeout=5_000
        )
        assert more.get_attribute("aria-expanded") == "true"
        assert more.inner_text() == "Show less"
        name = page.locator(".eyebrow .truncate")
        assert name.evaluate("e => e.scrollWidth > e.clientWidth")
        assert name.get_attribute("title").startswith("Northwind Traders")
    finally:
        context.close()


def test_the_overview_puts_the_most_severe_tenants_first(browser, ux, server):
    context, page = signed_in(browser, server, "owner@example.test")
    try:
        open_live(page, f"{server.base}/admin?view=table")
        states = page.eval_on_selector_all(
            "[data-tenant-card]", "nodes => nodes.map(n => n.getAttribute('data-state'))"
        )
        assert len(states) == 66
        assert states[:4] == ["likely_stale"] * 4
        assert [RANKS.index(s) for s in states] == sorted(RANKS.index(s) for s in states)
        first = page.locator("[data-tenant-card]").nth(1).inner_text()
        assert any(name in first for name in STALE_TENANTS)
        page.check("input[name=problems]")
        page.wait_for_url(re.compile(r"problems=1"), timeout=5_000)
        page.wait_for_function(
            "document.querySelectorAll('[data-tenant-card]').length === 9", timeout=10_000
        )
        page.fill("input[name=q]", "tenant 6")
        page.wait_for_function(
            "document.querySelectorAll('[data-tenant-card]').length === 3", timeout=10_000
        )
        assert "q=tenant+6" in page.url
    finally:
        context.close()


@pytest.mark.parametrize(
    "width,height,path",
    [(1440, 900, "/admin?view=table"), (1920, 1080, "/admin?view=table&wall=1")],
)
def test_the_compact_table_fits_66_tenants_on_one_screen(browser, ux, server, width, height, path):
    context, page = signed_in(
        browser, server, "owner@example.test", viewport={"width": width, "height": height}
    )
    try:
        open_live(page, f"{server.base}{path}")
        if "wall=1" in path:
            page.wait_for_function("document.documentElement.hasAttribute('data-wall')")
        rows = page.locator("tr[data-tenant-card]")
        assert rows.count() == 66
        assert rows.first.get_attribute("data-state") == "likely_stale"
        box = rows.last.bounding_box()
        assert box["height"] >= 16  # still a readable row, not squeezed to nothing
        assert box["y"] + box["height"] <= height
        assert page.evaluate("scrollX") == 0
        assert page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
        # Severity first: the state comes before the name in every row, as a badge with text.
        first = rows.first.locator("td, th").first
        assert "Likely stale" in first.inner_text()
        assert first.locator(".badge svg").count() == 1
    finally:
        context.close()


def test_search_and_time_range_apply_on_change(browser, ux, server):
    context, page = signed_in(browser, server, "owner@example.test")
    try:
        open_live(page, f"{server.base}/admin/operations")
        page.fill("input[name=q]", "deploy-bot")
        page.wait_for_function(
            f"document.querySelectorAll('tr[data-run-id]').length === 1 && "
            f"document.querySelector('tr[data-run-id=\"{ux.ux.stale_run}\"]')",
            timeout=10_000,
        )
        page.fill("input[name=q]", "")
        page.select_option("select[name=range]", "1h")
        page.wait_for_url(re.compile(r"range=1h"), timeout=5_000)
        page.wait_for_function(
            "document.querySelector('[data-position]') && "
            "!document.querySelector('tr[data-run-id] time[datetime^=\"19\"]')",
            timeout=10_000,
        )
        older = page.eval_on_selector_all("tr[data-run-id]", "rows => rows.length")
        assert 0 < older < 20  # the quiet tenants' runs of 3 days ago are out of range
    finally:
        context.close()


def test_the_title_and_favicon_count_likely_stale_runs(browser, ux, server):
    context, page = signed_in(browser, server, "owner@example.test")
    try:
        for path in ("/admin", "/admin/operations", "/admin/reconciler"):
            open_live(page, f"{server.base}{path}")
            page.wait_for_function("document.title.startsWith('(4) ')", timeout=5_000)
            href = page.get_attribute('link[rel="icon"]', "href")
            assert href.startswith("data:image/svg+xml")
    finally:
        context.close()
    viewer, page = signed_in(browser, server, "viewer@example.test")
    try:
        open_live(page, f"{server.base}/admin")
        page.wait_for_function("document.title.startsWith('(1) ')", timeout=5_000)
    finally:
        viewer.close()


def test_times_follow_the_chosen_zone(browser, ux, server):
    context, page = signed_in(browser, server, "owner@example.test", timezone_id="America/New_York")
    try:
        open_live(page, f"{server.base}/admin/operations/{ux.ux.failed_run}")
        page.wait_for_function(
            "[...document.querySelectorAll('time[data-abs]')].every("
            "t => /E[SD]T$/.test(t.textContent))",
            timeout=5_000,
        )
        choice = page.locator("#time-zone-choice")
        assert "America/New_York" in choice.locator("option[value=local]").inner_text()
        choice.select_option("UTC")
        page.wait_for_function(
            "[...document.querySelectorAll('time[data-abs]')].every("
            "t => t.textContent.endsWith(' UTC'))",
            timeout=5_000,
        )
        open_live(page, f"{server.base}/admin/operations/{ux.ux.failed_run}")
        page.wait_for_function(
            "[...document.querySelectorAll('time[data-abs]')].every("
            "t => t.textContent.endsWith(' UTC'))",
            timeout=5_000,
        )
        rel = page.locator("time[data-rel]").first.get_attribute("title")
        assert rel.endswith(" UTC")
        open_live(page, f"{server.base}/admin?wall=1")
        page.wait_for_function(
            "document.documentElement.hasAttribute('data-wall') && "
            "getComputedStyle(document.querySelector('.topbar')).display === 'none'",
            timeout=5_000,
        )
    finally:
        context.close()


def test_the_custom_range_is_read_and_shown_in_the_chosen_zone(browser, ux, server):
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    start = (datetime.now(UTC) - timedelta(hours=2)).replace(second=0, microsecond=0)
    in_utc = start.strftime("%Y-%m-%dT%H:%M")
    in_new_york = start.astimezone(ZoneInfo("America/New_York")).strftime("%Y-%m-%dT%H:%M")
    context, page = signed_in(browser, server, "owner@example.test", timezone_id="America/New_York")
    try:
        # A link written in UTC (as the server renders without a zone) moves to the
        # reader's zone: the same instant, named.
        open_live(page, f"{server.base}/admin/operations?from={in_utc}")
        page.wait_for_function(
            "document.querySelector('input[name=tz]').value === 'America/New_York'",
            timeout=5_000,
        )
        assert page.input_value("input[name=from]") == in_new_york
        labels = page.locator("[data-zone-label]").all_inner_texts()
        assert labels == ["America/New_York", "America/New_York"]
        # A change submits the wall time with its zone, and the server reads it so.
        page.fill("input[name=to]", in_new_york.rsplit(":", 1)[0] + ":59")
        page.dispatch_event("input[name=to]", "change")
        page.wait_for_url(re.compile(r"tz=America%2FNew_York"), timeout=5_000)
        page.wait_for_function(
            "document.querySelector('input[name=from]').value === "
            f"'{in_new_york}' && !document.querySelector('#live-status[data-state=loading]')",
            timeout=10_000,
        )
        assert "from=" + in_new_york.replace(":", "%3A") in page.url
        # Choosing UTC shows the same instants in UTC.
        page.locator("#time-zone-choice").select_option("UTC")
        # Checked in one read of the page: a live push morphs the form back to the zone of
        # its URL (wall times and labels together, so the instants stay right) until the
        # script moves it to the chosen zone again, within its 30 ms.
        page.wait_for_function(
            "document.querySelector('input[name=tz]').value === 'UTC' && "
            f"document.querySelector('input[name=from]').value === '{in_utc}' && "
            "[...document.querySelectorAll('[data-zone-label]')]"
            ".map((label) => label.textContent).join() === 'UTC,UTC'",
            timeout=5_000,
        )
    finally:
        context.close()


def test_the_wall_cycles_between_the_overview_and_chosen_tenants(browser, ux, server):
    uuid = ux.ux.long_uuid
    context, page = signed_in(
        browser, server, "owner@example.test", viewport={"width": 1920, "height": 1080}
    )
    try:
        open_live(page, f"{server.base}/admin?view=table&wall=1&cycle={uuid}&every=10")
        page.wait_for_url(re.compile(rf"/admin/t/{uuid}$"), timeout=25_000)
        page.wait_for_function("document.documentElement.hasAttribute('data-wall')")
        # Back to the overview as it was opened: the compact table, still on the wall.
        page.wait_for_url(re.compile(r"/admin\?view=table$"), timeout=25_000)
        page.wait_for_selector("table.tenant-table", timeout=10_000)
        page.wait_for_function("document.documentElement.hasAttribute('data-wall')")
        # Escape leaves the wall and stops the cycle.
        page.keyboard.press("Escape")
        assert not page.evaluate("document.documentElement.hasAttribute('data-wall')")
        page.wait_for_timeout(11_000)
        assert page.url.endswith("/admin?view=table")
    finally:
        context.close()


def open_wall_setup(page):
    """Open the overview's wall-screen setup with the keyboard, as an operator would."""
    page.focus("#wall-setup > summary")
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('wall-setup').open")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_open_wall_setup_passes_axe(browser, ux, server, scheme):
    for email, _ in USERS:
        context, page = signed_in(
            browser, server, email, color_scheme=scheme, viewport={"width": 1440, "height": 900}
        )
        try:
            open_live(page, f"{server.base}/admin")
            open_wall_setup(page)
            assert axe_violations(page) == [], email
        finally:
            context.close()


@pytest.mark.parametrize("width,height", [(1440, 900), (390, 844)])
def test_the_open_wall_setup_never_scrolls_sideways(browser, ux, server, width, height):
    """The setup lists every tenant, the 200-character name included, on a phone too."""
    context, page = signed_in(
        browser, server, "owner@example.test", viewport={"width": width, "height": height}
    )
    try:
        open_live(page, f"{server.base}/admin")
        open_wall_setup(page)
        labels = page.locator("#wall-setup label").count()
        scroll = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert scroll[0] <= scroll[1], scroll
        assert labels >= 60  # the many-tenant site: every tenant is offered
    finally:
        context.close()


def test_the_wall_chosen_with_the_keyboard_cycles_chosen_then_problem_tenants(browser, ux, server):
    context, page = signed_in(
        browser, server, "owner@example.test", viewport={"width": 1440, "height": 900}
    )
    try:
        open_live(page, f"{server.base}/admin")
        problems = page.eval_on_selector_all(
            "#tenant-cards [data-problem]", "cards => cards.map(c => c.dataset.tenantCard)"
        )
        assert len(problems) == 9  # 3 likely stale, 2 late, 3 follow-up, the long-named one
        open_wall_setup(page)
        page.keyboard.press("Tab")  # the first choice: every tenant with problems
        assert page.evaluate("document.activeElement.value") == "problems"
        page.keyboard.press("Space")
        quiet = page.locator("#wall-setup label").filter(has_text=re.compile(r"^\s*Tenant 01\s*$"))
        quiet.locator("input").focus()
        page.keyboard.press("Space")
        chosen = quiet.locator("input").get_attribute("value")
        page.focus("#wall-setup input[name=every]")
        page.keyboard.press("Control+A")
        page.keyboard.type("10")
        page.keyboard.press("Enter")  # submits the form
        page.wait_for_url(re.compile(rf"wall=1&cycle=problems&cycle={chosen}&every=10$"))
        page.wait_for_function("document.documentElement.hasAttribute('data-wall')")
        assert not page.is_visible("#wall-setup")  # no setup on the wall itself
        # The chosen tenant first, then the tenants the overview showed with problems.
        page.wait_for_url(re.compile(rf"/admin/t/{chosen}$"), timeout=25_000)
        page.wait_for_url(re.compile(rf"/admin/t/{problems[0]}$"), timeout=25_000)
        page.wait_for_function("document.documentElement.hasAttribute('data-wall')")
        page.keyboard.press("Escape")
        assert not page.evaluate("document.documentElement.hasAttribute('data-wall')")
    finally:
        context.close()
