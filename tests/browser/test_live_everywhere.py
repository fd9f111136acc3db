"""Every region of every live page follows the data without a reload, and the transport
holds: a hung server is announced, a stalled socket delays nobody, the per-session cap
refuses at once, and a viewer never receives another tenant's data."""

import base64
import http.cookiejar
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.live import DEFAULTS
from app.models import OperationRun
from app.operations.clock import SystemClock, isoformat
from app.operations.lifecycle import create_run
from tests.browser.conftest import PASSWORD, ROOT, LiveServer, Page

pytestmark = pytest.mark.browser
OWNER = "owner@example.test"
VIEWER = "bravo@example.test"
PUSH_WITHIN_MS = 3_000
RECENT = "section[aria-labelledby=recent-title]"
LIST_ROWS = "section[aria-label=Operations] table.runs tbody"
BACKLOG = 60


# -- writing runs --------------------------------------------------------------------------


def api(site, server, path, body=None):
    """A call to the worker API with the site's token; the decoded JSON answer."""
    request = urllib.request.Request(
        f"{server.base}/api/v1{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {site.token}", "Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def new_run(site, server, tenant, **fields):
    """A running run created through the API; its id."""
    body = {"type": "baseline_compare", "tenant": tenant.uuid, "status": "running", **fields}
    return api(site, server, "/runs", body)["id"]


def write_runs(site, tenant, count, *, type="baseline_compare"):
    """``count`` running runs committed by this process; their ids."""
    ids = []
    with site.app.app_context():
        for _ in range(count):
            now = SystemClock().now()
            run = create_run(
                workspace_id=site.workspace_id,
                tenant_id=tenant.id,
                type=type,
                now=now,
                actor="browser-test",
                status="running",
            )
            ids.append(run.id)
        db.session.remove()
    return ids


def tenant_runs(site, tenant):
    """Ids of every run of ``tenant`` in the database."""
    with site.app.app_context():
        query = sa.select(OperationRun.id).where(OperationRun.tenant_id == tenant.id)
        ids = set(db.session.scalars(query))
        db.session.remove()
    return ids


@pytest.fixture(scope="module")
def backlog(site):
    """More alpha runs than one list page holds, so the list has an "Older" page."""
    return write_runs(site, site.alpha, BACKLOG)


# -- reading pages -------------------------------------------------------------------------


def row(run_id):
    return f'[data-run-id="{run_id}"]'


def tab_counts(owner):
    return owner.page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('[data-tab][data-count]')]
            .map((tab) => [tab.dataset.tab, Number(tab.dataset.count)]))"""
    )


def wait_count(owner, tab, count, timeout=PUSH_WITHIN_MS):
    owner.page.wait_for_function(
        "([tab, count]) => Number(document.querySelector(`[data-tab='${tab}']`)"
        "?.dataset.count) === count",
        arg=[tab, count],
        timeout=timeout,
    )


def list_ids(owner):
    return owner.page.eval_on_selector_all(
        f"{LIST_ROWS} tr[data-run-id]", "(rows) => rows.map((r) => Number(r.dataset.runId))"
    )


def fact(owner, label):
    """The text of the run detail's fact ``label``."""
    return owner.page.evaluate(
        """(label) => {
            const term = [...document.querySelectorAll('dl.facts dt')]
                .find((dt) => dt.textContent.trim() === label);
            return term ? term.nextElementSibling.textContent.trim() : null;
        }""",
        label,
    )


def pushes_since(owner, since):
    return [p for at, p in owner.frames if at >= since and str(p).startswith("<turbo-stream")]


def seen_text(owner):
    return " ".join(str(payload) for _, payload in owner.frames)


def within_budget(began, total_ms=PUSH_WITHIN_MS):
    """What is left of a ``total_ms`` budget that started at ``began`` (monotonic)."""
    return max(100, total_ms - (time.monotonic() - began) * 1000)


# -- raw stream sockets --------------------------------------------------------------------


def cookie_header(context):
    """The Cookie header of a Playwright browser context (its signed-in session)."""
    return "; ".join(f"{c['name']}={c['value']}" for c in context.cookies())


def sign_in(base, email):
    """A session signed in over plain HTTP (no page, so no stream of its own): its cookies."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"{base}/login", timeout=10) as response:
        form = response.read().decode()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    data = urlencode({"email": email, "password": PASSWORD, "csrf_token": csrf}).encode()
    with opener.open(f"{base}/login", data=data, timeout=10) as response:
        assert "/login" not in response.url
    return "; ".join(f"{c.name}={c.value}" for c in jar)


class RawStream:
    """A WebSocket handshake to the stream route by hand; nothing past it is ever read."""

    def __init__(self, base, cookie, page, *, receive_buffer=None, timeout=10):
        parts = urlsplit(base)
        self.sock = socket.socket()
        if receive_buffer:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(timeout)
        began = time.monotonic()
        try:
            self.sock.connect((parts.hostname, parts.port))
            key = base64.b64encode(os.urandom(16)).decode()
            self.sock.sendall(
                (
                    f"GET /live/stream?{urlencode({'page': page})} HTTP/1.1\r\n"
                    f"Host: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                    f"Cookie: {cookie}\r\n\r\n"
                ).encode()
            )
            self.status = self._status()
        except BaseException:
            self.sock.close()
            raise
        self.answered_in = time.monotonic() - began
        self.local_port = self.sock.getsockname()[1]

    def _status(self):
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            byte = self.sock.recv(1)
            if not byte:
                break
            head += byte
        return int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else None

    def message(self):
        """The next message the server sent (text); the server registers a socket before
        it says anything on it."""
        head = self._exactly(2)
        length = head[1] & 0x7F
        if length == 126:
            length = int.from_bytes(self._exactly(2), "big")
        elif length == 127:
            length = int.from_bytes(self._exactly(8), "big")
        return self._exactly(length).decode()

    def _exactly(self, count):
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                raise ConnectionError("the server closed the stream")
            data += chunk
        return data

    def close(self):
        self.sock.close()


def send_queue(server_port, client_port):
    """Bytes the server has written to the connection with ``client_port`` that the client
    has not taken (the tx_queue of the server's side in /proc/net/tcp)."""
    local = f"0100007F:{server_port:04X}"
    remote = f"0100007F:{client_port:04X}"
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            if fields[1] == local and fields[2] == remote:
                return int(fields[4].split(":")[0], 16)
    return None


# -- 1. new runs everywhere ----------------------------------------------------------------


def test_a_new_run_appears_in_the_list_and_in_both_recent_tables(browser, site, server):
    pages = {
        "list": (Page(browser, server.base, OWNER).open("/admin/operations"), LIST_ROWS),
        "overview": (Page(browser, server.base, OWNER).open("/admin"), RECENT),
        "dashboard": (
            Page(browser, server.base, OWNER).open(f"/admin/t/{site.alpha.uuid}"),
            RECENT,
        ),
    }
    run_id = new_run(site, server, site.alpha)
    began = time.monotonic()
    for owner, within in pages.values():
        owner.page.wait_for_selector(f"{within} {row(run_id)}", timeout=within_budget(began))

    list_page = pages["list"][0]
    assert list_ids(list_page)[0] == run_id, "the newest run heads the first page"
    for owner, _ in pages.values():
        assert owner.never_reloaded()
        owner.close()


# -- 2. tab counts, and a deeper page that stays put -----------------------------------------


def test_tab_counts_follow_a_new_run_and_a_run_going_stale(browser, site, server):
    owner = Page(browser, server.base, OWNER).open("/admin/operations")
    before = tab_counts(owner)
    started = SystemClock().now() - timedelta(seconds=4)
    run_id = new_run(site, server, site.alpha, type="quick_check", started_at=isoformat(started))
    wait_count(owner, "all", before["all"] + 1)
    wait_count(owner, "active", before["active"] + 1)

    stale_at = started + timedelta(seconds=8)
    budget = (stale_at - SystemClock().now()).total_seconds() * 1000 + PUSH_WITHIN_MS
    wait_count(owner, "active_stale_attention", before["active_stale_attention"] + 1, budget)
    assert SystemClock().now() >= stale_at, "counted as stale before its threshold"
    assert owner.page.get_attribute(row(run_id), "data-freshness") == "likely_stale"
    assert owner.never_reloaded()
    owner.close()


def title_count(page):
    """The likely stale count the title starts with ("(3) ..."), 0 without one."""
    found = re.match(r"\((\d+)\+?\) ", page.page.title())
    return int(found.group(1)) if found else 0


def test_a_detail_page_title_counts_a_run_going_stale_in_another_tenant(browser, site, server):
    """The title of a page about one run follows the viewer's likely stale count, though the
    run going stale is on no part of the page: a ``count`` message, no page push."""
    shown = new_run(site, server, site.alpha, total=10)
    owner = Page(browser, server.base, OWNER).open(f"/admin/operations/{shown}")
    before, began = title_count(owner), time.time()
    started = SystemClock().now() - timedelta(seconds=4)
    new_run(site, server, site.bravo, type="quick_check", started_at=isoformat(started))
    stale_at = started + timedelta(seconds=8)
    budget = (stale_at - SystemClock().now()).total_seconds() * 1000 + PUSH_WITHIN_MS
    owner.page.wait_for_function(
        f"() => document.title.startsWith('({before + 1}) ')", timeout=max(budget, 100)
    )
    assert SystemClock().now() >= stale_at, "counted before its threshold"
    assert f"count {before + 1}" in seen_text(owner)
    assert owner.page.get_attribute("#page-content", "data-stale-count") == str(before + 1)
    assert pushes_since(owner, began) == [], "the page's own content did not change"
    assert owner.never_reloaded()
    owner.close()


def test_the_closing_time_gives_way_to_due_without_a_push(browser, site, server):
    """A likely stale run's guidance says when it will be closed; at that instant the page
    itself (no server message) says it is due to be closed on the next pass."""
    closes = SystemClock().now() + timedelta(seconds=4)
    started = closes - timedelta(seconds=8 + 3600)  # quick_check: stale after 8 s, grace 1 h
    run_id = new_run(site, server, site.alpha, type="quick_check", started_at=isoformat(started))
    owner = Page(browser, server.base, OWNER).open(f"/admin/operations/{run_id}")
    began = time.time()
    later = "[data-from]:has-text('Due to be closed')"
    assert owner.page.locator("[data-until]:has-text('Will be closed')").first.is_visible()
    assert not owner.page.locator(later).first.is_visible()
    owner.page.wait_for_selector(later, state="visible", timeout=8_000)
    assert SystemClock().now() >= closes, "switched before its instant"
    assert not owner.page.locator("[data-until]:has-text('Will be closed')").first.is_visible()
    assert pushes_since(owner, began) == [], "no push was needed"
    assert owner.never_reloaded()
    owner.close()


def test_a_deeper_page_gets_new_counts_but_keeps_its_rows(browser, site, server, backlog):
    owner = Page(browser, server.base, OWNER).open("/admin/operations")
    owner.page.click("nav.pager a:has-text('Older')")
    owner.page.wait_for_url(lambda url: "cursor=" in url)
    owner.wait_live()
    owner.page.evaluate("window.__sameDocument = true")
    rows_before, counts_before = list_ids(owner), tab_counts(owner)
    assert rows_before, "the older page has rows"

    run_id = new_run(site, server, site.alpha)
    wait_count(owner, "all", counts_before["all"] + 1)

    assert list_ids(owner) == rows_before
    assert owner.page.query_selector(row(run_id)) is None
    assert owner.never_reloaded()
    owner.close()


# -- 3. the run detail ---------------------------------------------------------------------


def test_a_heartbeat_updates_progress_last_heartbeat_and_timeline(browser, site, server):
    run_id = new_run(site, server, site.alpha, total=2500)
    owner = Page(browser, server.base, OWNER).open(f"/admin/operations/{run_id}")
    assert fact(owner, "Last heartbeat") == "None reported"
    assert "0 of 2,500" in fact(owner, "Progress")
    events_before = owner.page.locator("[data-event]").count()

    api(site, server, f"/runs/{run_id}/heartbeat", {"processed": 1813})
    owner.page.wait_for_function(
        "() => document.querySelector('.detail-progress .progress-text')"
        "?.textContent.includes('1,813')",
        timeout=PUSH_WITHIN_MS,
    )
    assert "1,813 of 2,500" in fact(owner, "Progress")
    assert fact(owner, "Last heartbeat").startswith("just now")
    assert owner.page.locator("[data-event]").count() > events_before
    assert owner.never_reloaded()
    owner.close()


# -- 4. times that age alone ---------------------------------------------------------------


def test_a_relative_time_ages_without_any_server_message(browser, site, server):
    run_id = new_run(site, server, site.alpha)
    owner = Page(browser, server.base, OWNER).open(f"/admin/operations/{run_id}")
    heartbeat = "dl.facts div:has(dt:text-is('Last heartbeat')) time[data-rel]"
    api(site, server, f"/runs/{run_id}/heartbeat", {})
    owner.page.wait_for_selector(heartbeat, timeout=PUSH_WITHIN_MS)
    assert owner.page.inner_text(heartbeat) == "just now"
    quiet_from = time.time()

    seen = set()
    deadline = time.monotonic() + 10
    while not {"5 s ago", "6 s ago"} <= seen and time.monotonic() < deadline:
        owner.page.wait_for_timeout(200)
        seen.add(owner.page.inner_text(heartbeat))
    assert {"just now", "5 s ago", "6 s ago"} <= seen, seen
    assert pushes_since(owner, quiet_from) == [], "the page aged by itself"
    assert owner.never_reloaded()
    owner.close()


def test_the_insights_page_claims_no_live_state_and_shows_its_age(browser, site, server):
    owner = Page(browser, server.base, OWNER)  # signed in on the (live) overview
    sockets = []
    owner.page.on("websocket", lambda ws: sockets.append(ws.url))
    owner.page.goto(f"{server.base}/admin/insights")
    age = "#page-age [data-since]"
    owner.page.wait_for_selector(age)
    seen = set()
    deadline = time.monotonic() + 6
    while "3 s" not in seen and time.monotonic() < deadline:
        owner.page.wait_for_timeout(200)
        seen.add(owner.page.inner_text(age))
    assert {"1 s", "2 s", "3 s"} <= seen, seen  # it counts up by itself
    assert owner.page.inner_text("#page-age").startswith("Not live · figures from ")
    assert owner.page.query_selector("#live-status") is None
    assert "Live ·" not in owner.page.inner_text("body")
    assert [url for url in sockets if "page=%2Fadmin%2Finsights" in url] == []
    owner.close()


# -- 5. the reconciler page ----------------------------------------------------------------


def test_the_reconciler_page_shows_a_new_pass(browser, site, server):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    owner = Page(browser, server.base, OWNER).open("/admin/reconciler")
    try:
        known = owner.page.eval_on_selector_all(
            "[data-pass-id]", "(rows) => rows.map((row) => Number(row.dataset.passId))"
        )
        done = subprocess.run(
            [sys.executable, "-m", "flask", "reconcile", "--once"],
            cwd=ROOT,
            env=site.env,
            check=True,
            capture_output=True,
            timeout=60,
        )
        pass_id = json.loads(done.stdout)["pass_id"]
        assert pass_id not in known
        began = time.monotonic()
        try:
            owner.page.wait_for_selector(f'[data-pass-id="{pass_id}"]', timeout=5_000)
            shown = True
        except PlaywrightTimeout:
            shown = False
        waited = time.monotonic() - began
        assert shown, f"pass #{pass_id} was not on the page {waited:.1f} s after it finished"
        assert owner.never_reloaded()
    finally:
        owner.close()


# -- 6. a hung server ----------------------------------------------------------------------


def test_a_hung_server_is_announced_within_5_s_and_rejoined(browser, site):
    server = LiveServer(site.env).start()
    owner = None
    try:
        owner = Page(browser, server.base, OWNER).open(f"/admin/t/{site.alpha.uuid}")
        owner.page.evaluate(
            """() => new MutationObserver(() => {
                const state = document.getElementById('live-status').dataset.state;
                window.__states = [...(window.__states || []), [state, Date.now()]];
            }).observe(document.getElementById('live-status'), {attributes: true})"""
        )
        title = owner.page.title()
        # The hang starts 1 s after a message, between two of the server's 2 s heartbeats.
        owner.page.wait_for_function(
            "() => Date.now() - window.RunwardenLive.state.lastMessageAt < 100",
            polling=20,
            timeout=5_000,
        )
        owner.page.wait_for_timeout(1_000)
        stopped = time.time()
        server.process.send_signal(signal.SIGSTOP)
        try:
            owner.page.wait_for_selector("#live-status[data-state=lost]", timeout=6_000)
            lost_at = owner.page.evaluate(
                "() => window.__states.find(([state]) => state === 'lost')[1]"
            )
            assert lost_at / 1000 - stopped <= 5.0, f"lost after {lost_at / 1000 - stopped:.2f} s"
            assert owner.page.is_visible("#live-banner")
            assert owner.page.inner_text("#live-banner").startswith("Connection lost")
            assert owner.page.is_visible("[data-live-reconnect]")
            assert owner.page.title() == f"Offline · {title}"
            owner.page.wait_for_function(
                "() => Number(getComputedStyle(document.getElementById('page-content'))"
                ".opacity) < 0.7",
                timeout=2_000,
            )
        finally:
            resumed = time.time()
            server.process.send_signal(signal.SIGCONT)
        owner.wait_live(timeout=3_000)
        assert time.time() - resumed <= 3.0
        assert owner.page.title() == title
        assert owner.page.is_hidden("#live-banner")
        assert owner.never_reloaded()
    finally:
        if owner is not None:
            owner.close()
        server.stop()


# -- 7. a stalled socket -------------------------------------------------------------------


WATCH_ROWS = """(rows) => {
    window.__seen = {};
    const note = () => document.querySelectorAll(rows).forEach((tr) => {
        window.__seen[tr.dataset.runId] ??= Date.now();
    });
    new MutationObserver(note).observe(document.body, {subtree: true, childList: true});
    note();
}"""


def commit_runs(site, owner, count, *, every=0.15, until=None):
    """Commit one run every ``every`` s (``count`` of them, or while ``until()`` says
    go on); {run id: commit instant (epoch s)}."""
    committed = {}
    while len(committed) < count if until is None else until():
        (run_id,) = write_runs(site, site.alpha, 1)
        committed[run_id] = time.time()
        owner.page.wait_for_timeout(every * 1000)
    return committed


def latencies(owner, committed):
    """Seconds from each commit to its row on the page (waits for every row)."""
    owner.page.wait_for_function(
        "(ids) => ids.every((id) => id in window.__seen)",
        arg=[str(i) for i in committed],
        timeout=PUSH_WITHIN_MS,
    )
    seen = owner.page.evaluate("() => window.__seen")
    return [seen[str(run_id)] / 1000 - at for run_id, at in committed.items()]


class Stall:
    """Watches the server's send queue towards a socket that never reads: it is blocked
    once the queue stopped growing (every buffer on the way is full) for ``samples``
    samples, 0.15 s apart: longer than a wide page waits between renders (0.5 s), so a
    pause between pushes is not taken for a full buffer."""

    def __init__(self, server, stream, *, samples=10):
        self.server, self.stream, self.samples = server, stream, samples
        self.history = []

    def sample(self):
        self.history.append(send_queue(self.server.port, self.stream.local_port))
        return self.history[-1]

    @property
    def blocked(self):
        last = self.history[-self.samples :]
        return len(last) == self.samples and len(set(last)) == 1 and (last[0] or 0) > 0


def test_a_stalled_socket_does_not_delay_pushes_to_a_browser_page(browser, site, server, backlog):
    owner = Page(browser, server.base, OWNER).open("/admin/operations")
    owner.page.evaluate(WATCH_ROWS, f"{LIST_ROWS} tr[data-run-id]")
    calm = latencies(owner, commit_runs(site, owner, 6))

    stream = RawStream(
        server.base, cookie_header(owner.context), "/admin/operations", receive_buffer=4096
    )
    try:
        assert stream.status == 101
        stall = Stall(server, stream)
        deadline = time.monotonic() + 30

        def filling():
            stall.sample()
            return not stall.blocked and time.monotonic() < deadline

        filled = commit_runs(site, owner, 0, until=filling)
        assert stall.blocked, f"the socket's buffers never filled: {stall.history[-10:]}"
        blocked = commit_runs(site, owner, 8)
        assert stall.sample() in (stall.history[-2], None), "still blocked, or dropped"
    finally:
        stream.close()

    during = latencies(owner, {**filled, **blocked})
    assert max(len(str(push)) for push in owner.pushes()) > 50_000, "pushes are large"
    assert max(during) < 2.0, f"pushes took up to {max(during):.2f} s with a stalled socket"
    assert statistics.median(during) < statistics.median(calm) + 0.5, (during, calm)
    assert owner.never_reloaded()
    owner.close()


# -- 8. the per-session cap ----------------------------------------------------------------


def test_the_stream_past_the_per_session_cap_is_refused_at_once(site, server):
    cap = DEFAULTS["LIVE_MAX_STREAMS_PER_SESSION"]
    cookie = sign_in(server.base, OWNER)
    streams = []
    try:
        for _ in range(cap):
            streams.append(RawStream(server.base, cookie, "/admin"))
            assert streams[-1].status == 101
            assert streams[-1].message().startswith(("current", "stale"))

        refused = RawStream(server.base, cookie, "/admin", timeout=5)
        refused.close()
        assert refused.status == 429
        assert refused.answered_in < 2.0

        other = RawStream(server.base, sign_in(server.base, OWNER), "/admin")
        other.close()
        assert other.status == 101, "the cap is per session"

        streams.pop().close()
        deadline = time.monotonic() + 10
        while True:
            again = RawStream(server.base, cookie, "/admin")
            streams.append(again)
            if again.status == 101 or time.monotonic() > deadline:
                break
            streams.pop().close()
            time.sleep(0.25)
        assert again.status == 101, "a closed stream frees its place"
    finally:
        for stream in streams:
            stream.close()


# -- 9. isolation --------------------------------------------------------------------------


def test_a_viewer_never_receives_another_tenants_data(browser, site, server):
    pages = {
        "/admin": RECENT,
        "/admin/operations": LIST_ROWS,
        f"/admin/t/{site.bravo.uuid}": RECENT,
    }
    viewers = {path: Page(browser, server.base, VIEWER).open(path) for path in pages}
    owner = Page(browser, server.base, OWNER).open("/admin/operations")

    first = new_run(site, server, site.alpha, total=10)
    second = new_run(site, server, site.alpha)
    api(site, server, f"/runs/{first}/heartbeat", {"processed": 5})
    api(site, server, f"/runs/{second}/complete", {"outcome": "failed", "message": "Alpha"})
    bravo_id = new_run(site, server, site.bravo)
    began = time.monotonic()
    for path, within in pages.items():
        viewers[path].page.wait_for_selector(
            f"{within} {row(bravo_id)}", timeout=within_budget(began)
        )
    owner.page.wait_for_selector(f"{LIST_ROWS} {row(second)}", timeout=PUSH_WITHIN_MS)

    bravo_runs = tenant_runs(site, site.bravo)
    alpha_runs = tenant_runs(site, site.alpha)
    for path, viewer in viewers.items():
        seen = seen_text(viewer)
        assert viewer.pushes(), f"{path} received pushes"
        shown = {int(i) for i in re.findall(r'data-run-id="(\d+)"', seen)}
        assert bravo_id in shown and shown <= bravo_runs, path
        assert not re.search(rf"/admin/operations/({'|'.join(map(str, alpha_runs))})\b", seen)
        assert "Alpha" not in seen and site.alpha.uuid not in seen, path
        assert not re.search(rf"tenant_id={site.alpha.id}\b", seen), path
        assert viewer.never_reloaded()

    counts = tab_counts(viewers["/admin/operations"])
    assert counts["all"] == len(bravo_runs)
    with site.app.app_context():
        active = db.session.scalar(
            sa.select(sa.func.count()).where(
                OperationRun.tenant_id == site.bravo.id,
                OperationRun.status.in_(("queued", "running")),
            )
        )
        db.session.remove()
    assert counts["active"] == active
    for viewer in (*viewers.values(), owner):
        viewer.close()
