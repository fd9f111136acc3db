"""``make screenshots``: PNGs of every page at 1440 and 390 px, light and dark.

``python -m tests.browser.screenshots [OUT]`` builds the long-text, many-tenant site of
``tests.browser.ux_site`` in a temporary directory, serves it, signs in as each role and
writes ``OUT/<role>-<page>-<width>-<scheme>.png`` (OUT defaults to ``screenshots/``).
"""

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PASSWORD, LiveServer
from tests.browser.ux_site import USERS, build_ux_site

WIDTHS = {1440: 900, 390: 844}
SCHEMES = ("light", "dark")


# A live page once its socket is live; the insights page (not live) once it shows its age.
READY = "#live-status[data-state=live], #page-age"


def pages(site, role):
    """(name, path) of every page ``role`` can open in the site."""
    ux = site.ux
    tenant = ux.long_uuid if role != "viewer" else None
    found = [
        ("overview", "/admin"),
        ("overview-table", "/admin?view=table"),
        ("overview-problems", "/admin?problems=1"),
        ("list", "/admin/operations"),
        ("list-search", "/admin/operations?q=deploy-bot"),
        ("reconciler", "/admin/reconciler"),
        ("wall", "/admin?view=table&wall=1"),
    ]
    if role != "viewer":
        found.append(("insights", "/admin/insights"))
    if tenant:
        found += [
            ("tenant", f"/admin/t/{tenant}"),
            ("list-tenant", f"/admin/operations?tenant_id={ux.long_tenant}"),
            ("detail-stale", f"/admin/operations/{ux.stale_run}"),
            ("detail-failed", f"/admin/operations/{ux.failed_run}"),
        ]
    return found


def sign_in(context, base, email):
    """A signed-in page of ``context``."""
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    return page


def shoot(browser, server, site, out):
    """Every page for every role, width and scheme; returns the files written."""
    written = []
    for email, role in USERS:
        for width, height in WIDTHS.items():
            for scheme in SCHEMES:
                context = browser.new_context(
                    viewport={"width": width, "height": height}, color_scheme=scheme
                )
                page = sign_in(context, server.base, email)
                for name, path in pages(site, role):
                    page.goto(f"{server.base}{path}")
                    page.wait_for_selector(READY, timeout=15_000)
                    target = out / f"{role}-{name}-{width}-{scheme}.png"
                    page.screenshot(path=str(target), full_page=True)
                    written.append(target)
                    if name == "wall":
                        page.goto(f"{server.base}/admin?wall=0")
                context.close()
    return written


def main(out):
    """Build, serve, shoot."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        site = build_ux_site(tmp, f"sqlite:///{tmp / 'runwarden.db'}")
        server = LiveServer(site.env).start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                written = shoot(browser, server, site, out)
                browser.close()
        finally:
            server.stop()
    print(f"{len(written)} screenshots in {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots"))
