// Runwarden live updates: the stream socket, honest freshness, times that age by themselves.
//
// - Connects to the stream socket named by <meta name="runwarden-live"> on pages with a
//   #live-status element. The server sends Turbo Streams that morph #page-content (the
//   whole live region of the page, built by the same page model as the page itself),
//   "current <ms>" (every change the server had read <ms> ago is on this page) or "stale"
//   (the server is not reading changes), and "revoked <why>" before it closes a socket
//   whose user lost access or signed out, and "count <N>" when the viewer's likely stale
//   count (title and favicon) moved while the page's own content did not. A page that is
//   not live (the insights) renders #page-age instead of #live-status: no socket, no "Live"
//   claim, only its figures' age.
// - "Live · updated N s ago" counts from the instant the data was last confirmed current.
//   No message for HUNG_MS (two heartbeats) means a hung server: the page says "Connection lost", dims the
//   data, prefixes the title and offers "Reconnect now"; it reconnects with a short backoff
//   (at most MAX_BACKOFF_MS between attempts) and catches up from its data's time.
// - <time data-rel> and [data-since] texts are derived here from absolute instants every
//   second, so "just now" never freezes whether or not the server sends anything.
// - Fragments may carry data-next-transition-in-ms: while the socket is down (or if the
//   server's push does not come), the page refreshes itself then, so freshness flips on time.
(function () {
  "use strict";
  if (window.RunwardenLive) return;

  const HUNG_MS = 4000;
  const MAX_BACKOFF_MS = 2000;
  const BACKOFF_MS = [250, 500, 1000, MAX_BACKOFF_MS];
  const MARGIN_MS = 250;
  const PUSH_GRACE_MS = 2000;
  const MIN_DELAY_MS = 100;
  const MAX_TIMER_MS = 2147483647;
  const OFFLINE_PREFIX = "Offline · ";
  const COUNT_PREFIX = /^\(\d+\+?\) /;

  const live = {
    status: "connecting",
    socket: null,
    confirmedAt: Date.now(),
    lastMessageAt: 0,
    attempts: 0,
    page: null,
    reason: "",
    serverOffset: 0,
    reconnectTimer: null,
    transitionTimer: null,
    transitionDue: null,
    refreshing: null,
    refreshAgain: false,
    morphing: false,
    refreshes: 0,
    pushes: 0,
    lastPushAt: null,
    lastPushPerf: -Infinity,
  };

  function settings() {
    const meta = document.querySelector('meta[name="runwarden-live"]');
    if (!meta || !document.getElementById("live-status")) return null;
    return {
      stream: meta.getAttribute("data-stream"),
      renderedAt: meta.getAttribute("data-rendered-at") || "",
      pollMs: parseInt(meta.getAttribute("data-poll-ms"), 10) || 30000,
    };
  }

  function currentPage() {
    return location.pathname + location.search;
  }

  function dataAsOf() {
    const content = document.getElementById("page-content");
    const value = content && content.getAttribute("data-as-of");
    return value || (settings() || {}).renderedAt || "";
  }

  // -- the socket -------------------------------------------------------------------

  function connect() {
    clearTimeout(live.reconnectTimer);
    if (live.status === "revoked") return;
    if (live.socket && live.socket.readyState <= WebSocket.OPEN) return;
    const config = settings();
    if (!config || !config.stream) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const query = new URLSearchParams({ page: currentPage(), since: dataAsOf() });
    let socket;
    try {
      socket = new WebSocket(`${scheme}//${location.host}${config.stream}?${query}`);
    } catch (error) {
      scheduleReconnect();
      return;
    }
    live.socket = socket;
    live.page = currentPage();
    live.lastMessageAt = Date.now();
    socket.addEventListener("message", (event) => onMessage(socket, event.data));
    socket.addEventListener("close", () => onClose(socket));
  }

  function disconnect() {
    const socket = live.socket;
    live.socket = null;
    if (socket) socket.close();
  }

  function onMessage(socket, data) {
    if (socket !== live.socket || typeof data !== "string") return;
    live.lastMessageAt = Date.now();
    if (data.startsWith("<turbo-stream")) {
      live.pushes += 1;
      live.lastPushAt = performance.timeOrigin + performance.now();
      live.lastPushPerf = performance.now();
      window.Turbo.renderStreamMessage(data);
      confirm(0);
    } else if (data.startsWith("current")) {
      confirm(parseInt(data.slice(8), 10) || 0);
    } else if (data.startsWith("count ")) {
      setStaleCount(data.slice(6));
    } else if (data === "stale") {
      setStatus("lost");
    } else if (data.startsWith("revoked")) {
      live.reason = data.slice(8) || "This page no longer updates.";
      setStatus("revoked");
      disconnect();
    }
  }

  function confirm(ageMs) {
    live.attempts = 0;
    live.confirmedAt = Math.max(live.status === "live" ? live.confirmedAt : 0, Date.now() - ageMs);
    setStatus("live");
  }

  function onClose(socket) {
    if (socket !== live.socket) return;
    live.socket = null;
    if (live.status !== "revoked") setStatus("lost");
    scheduleReconnect();
  }

  function scheduleReconnect() {
    clearTimeout(live.reconnectTimer);
    if (live.status === "revoked") return;
    const base = BACKOFF_MS[Math.min(live.attempts, BACKOFF_MS.length - 1)];
    live.attempts += 1;
    const delay = base / 2 + Math.random() * (base / 2);
    live.reconnectTimer = setTimeout(connect, delay);
  }

  function reconnectNow() {
    live.attempts = 0;
    if (live.status === "revoked") {
      window.location.reload();
      return;
    }
    disconnect();
    connect();
  }

  // -- saying how fresh the page is -----------------------------------------------------

  function setStatus(status) {
    live.status = status;
    render();
  }

  function clockTime(timestamp) {
    const date = new Date(timestamp);
    return date.toLocaleTimeString([], {
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hour12: false,
      timeZoneName: "short",
    });
  }

  function statusText() {
    if (live.status === "live") {
      const seconds = Math.max(0, Math.round((Date.now() - live.confirmedAt) / 1000));
      return `Live · updated ${seconds} s ago`;
    }
    if (live.status === "lost") return `Connection lost — showing data from ${clockTime(live.confirmedAt)}`;
    if (live.status === "revoked") return live.reason;
    return "Connecting to live updates…";
  }

  function render() {
    const element = document.getElementById("live-status");
    if (!element) return;
    const text = statusText();
    if (element.textContent !== text) element.textContent = text;
    element.setAttribute("data-state", live.status);
    element.setAttribute("data-confirmed-at", new Date(live.confirmedAt).toISOString());
    document.documentElement.setAttribute("data-live", live.status);
    const content = document.getElementById("page-content");
    const label = `Not live · data from ${clockTime(live.confirmedAt)}`;
    if (content && content.getAttribute("data-stale-label") !== label) {
      content.setAttribute("data-stale-label", label);
    }
    renderBanner(text);
    renderTitle();
  }

  function renderBanner(text) {
    const banner = document.getElementById("live-banner");
    if (!banner) return;
    const down = live.status === "lost" || live.status === "revoked";
    if (banner.hidden === down) banner.hidden = !down;
    const holder = banner.querySelector("[data-live-banner-text]");
    if (holder && down && holder.textContent !== text) holder.textContent = text;
    const button = banner.querySelector("[data-live-reconnect]");
    if (button) button.textContent = live.status === "revoked" ? "Reload the page" : "Reconnect now";
  }

  // The title and favicon carry the viewer's likely stale count (data-stale-count on
  // #page-content, from the page model), so a background tab tells the truth too.
  function staleCount() {
    const content = document.getElementById("page-content");
    const value = content && content.getAttribute("data-stale-count");
    return value && value !== "0" ? value : "";
  }

  // "count <N>": the viewer's likely stale count moved while this page's content did not
  // (a page about one tenant or run); the next push of the page carries its own.
  function setStaleCount(value) {
    const content = document.getElementById("page-content");
    if (!content || !/^\d+\+?$/.test(value)) return;
    content.setAttribute("data-stale-count", value);
    renderTitle();
  }

  function renderTitle() {
    let base = document.title.startsWith(OFFLINE_PREFIX)
      ? document.title.slice(OFFLINE_PREFIX.length)
      : document.title;
    base = base.replace(COUNT_PREFIX, "");
    const count = staleCount();
    const counted = count ? `(${count}) ${base}` : base;
    const wanted = live.status === "lost" || live.status === "revoked" ? OFFLINE_PREFIX + counted : counted;
    if (document.title !== wanted) document.title = wanted;
    renderFavicon(count);
  }

  function renderFavicon(count) {
    const link = document.querySelector('link[rel="icon"]');
    if (!link || link.getAttribute("data-count") === count) return;
    if (!link.hasAttribute("data-plain")) link.setAttribute("data-plain", link.getAttribute("href"));
    link.setAttribute("data-count", count);
    if (!count) {
      link.setAttribute("href", link.getAttribute("data-plain"));
      return;
    }
    const text = count.length > 2 ? "99+" : count;
    const size = text.length > 2 ? 9 : text.length > 1 ? 11 : 14;
    const svg =
      '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">' +
      '<circle cx="12" cy="12" r="12" fill="#b91c1c"/>' +
      `<text x="12" y="12" dy=".36em" text-anchor="middle" font-family="Arial,sans-serif" font-weight="700" font-size="${size}" fill="#fff">${text}</text></svg>`;
    link.setAttribute("href", `data:image/svg+xml,${encodeURIComponent(svg)}`);
  }

  function tick() {
    if (live.socket && live.socket.readyState === WebSocket.OPEN) {
      if (Date.now() - live.lastMessageAt > HUNG_MS) {
        const socket = live.socket;
        onClose(socket);
        socket.close();
      }
    }
    ageTimes();
    render();
  }

  function poll() {
    if (live.status !== "live" && live.status !== "revoked" && settings()) refresh();
    const config = settings();
    setTimeout(poll, config ? config.pollMs : 30000);
  }

  // -- times that age by themselves -----------------------------------------------------

  function coarse(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    if (seconds >= 86400) return `${Math.floor(seconds / 86400)} d`;
    if (seconds >= 3600) return `${Math.floor(seconds / 3600)} h`;
    if (seconds >= 60) return `${Math.floor(seconds / 60)} min`;
    return `${seconds} s`;
  }

  function duration(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    if (seconds < 60) return `${seconds} s`;
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
    if (seconds < 86400) {
      const hours = Math.floor(seconds / 3600);
      const minutes = Math.floor((seconds % 3600) / 60);
      return minutes ? `${hours} h ${minutes} min` : `${hours} h`;
    }
    const days = Math.floor(seconds / 86400);
    const hours = Math.floor((seconds % 86400) / 3600);
    return hours ? `${days} d ${hours} h` : `${days} d`;
  }

  function relative(deltaSeconds) {
    if (Math.abs(deltaSeconds) < 5) return "just now";
    return deltaSeconds > 0 ? `${coarse(deltaSeconds)} ago` : `in ${coarse(-deltaSeconds)}`;
  }

  function serverNow() {
    return Date.now() + live.serverOffset;
  }

  function instant(value) {
    return Date.parse(/[zZ]|[+-]\d\d:\d\d$/.test(value) ? value : `${value}Z`);
  }

  function ageTimes() {
    const now = serverNow();
    document.querySelectorAll("time[data-rel]").forEach((element) => {
      const at = instant(element.getAttribute("datetime"));
      if (!Number.isFinite(at)) return;
      const text = relative((now - at) / 1000);
      if (element.textContent !== text) element.textContent = text;
    });
    document.querySelectorAll("[data-since]").forEach((element) => {
      const at = instant(element.getAttribute("data-since"));
      if (!Number.isFinite(at)) return;
      const seconds = (now - at) / 1000;
      let text = duration(seconds);
      // Just past a limit, show the seconds too: "5 min (limit 5 min)" would read as within.
      const limit = parseInt(element.getAttribute("data-limit"), 10);
      if (Number.isFinite(limit) && text === duration(limit)) {
        text = `${text} ${Math.floor(seconds) % 60} s`;
      }
      if (element.textContent !== text) element.textContent = text;
    });
    // Words true up to an instant ([data-until]) give way to those true from it
    // ([data-from]): "closes 14:32 UTC" becomes "closing on the next reconciler pass".
    document.querySelectorAll("[data-until], [data-from]").forEach((element) => {
      const until = element.hasAttribute("data-until");
      const at = instant(element.getAttribute(until ? "data-until" : "data-from"));
      if (!Number.isFinite(at)) return;
      const hidden = until ? now >= at : now < at;
      if (element.hidden !== hidden) element.hidden = hidden;
    });
  }

  function adoptServerTime() {
    const config = settings();
    const at = config && instant(config.renderedAt);
    if (Number.isFinite(at)) live.serverOffset = at - Date.now();
  }

  // -- refreshing the page (socket down, or a transition the server did not push) --------

  function refresh() {
    if (live.refreshing) {
      live.refreshAgain = true;
      return live.refreshing;
    }
    live.refreshing = fetchAndMorph().finally(() => {
      live.refreshing = null;
      if (live.refreshAgain) {
        live.refreshAgain = false;
        refresh();
      }
    });
    return live.refreshing;
  }

  async function fetchAndMorph() {
    const url = location.href;
    let response;
    try {
      response = await fetch(url, {
        headers: { Accept: "text/html", "X-Runwarden-Live": "refresh" },
        credentials: "same-origin",
        cache: "no-store",
      });
    } catch (error) {
      return false;
    }
    if (location.href !== url) return false;
    if (response.redirected && new URL(response.url).pathname !== location.pathname) {
      window.location.assign(response.url);
      return false;
    }
    if ([401, 403, 404].includes(response.status)) {
      window.location.reload();
      return false;
    }
    if (!response.ok) return false;
    const html = await response.text();
    if (location.href !== url) return false;
    const page = new DOMParser().parseFromString(html, "text/html");
    morph(page.body);
    adoptRenderTime(page);
    live.refreshes += 1;
    if (live.status === "live") live.confirmedAt = Date.now();
    render();
    scanTransitions();
    return true;
  }

  function adoptRenderTime(page) {
    const fetched = page.querySelector('meta[name="runwarden-live"]');
    const current = document.querySelector('meta[name="runwarden-live"]');
    if (fetched && current) {
      current.setAttribute("data-rendered-at", fetched.getAttribute("data-rendered-at") || "");
      adoptServerTime();
    }
  }

  function morph(body) {
    live.morphing = true;
    try {
      window.Turbo.morphBodyElements(document.body, body);
    } finally {
      live.morphing = false;
    }
  }

  document.addEventListener("turbo:before-morph-element", (event) => {
    const element = event.target;
    if (!live.morphing || element.tagName !== "TURBO-FRAME") return;
    if (element.getAttribute("src")) {
      event.preventDefault();
      element.reload();
    }
  });

  // -- time-exact transitions -----------------------------------------------------------

  function scanTransitions() {
    const now = performance.now();
    let due = Infinity;
    document.querySelectorAll("[data-next-transition-in-ms]").forEach((element) => {
      const raw = element.getAttribute("data-next-transition-in-ms");
      const ms = parseInt(raw, 10);
      if (!Number.isFinite(ms)) return;
      if (element.runwardenSeenAt === undefined || element.runwardenRaw !== raw) {
        element.runwardenSeenAt = now;
        element.runwardenRaw = raw;
      }
      due = Math.min(due, element.runwardenSeenAt + ms);
    });
    schedule(due);
  }

  function schedule(due) {
    if (due === live.transitionDue) return;
    clearTimeout(live.transitionTimer);
    live.transitionTimer = null;
    live.transitionDue = due;
    if (due === Infinity) return;
    const wait = live.status === "live" ? PUSH_GRACE_MS : MARGIN_MS;
    const delay = Math.max(MIN_DELAY_MS, due + wait - performance.now());
    live.transitionTimer = setTimeout(() => {
      live.transitionDue = null;
      // While live the server pushes the flip itself; refresh only if that did not come.
      if (live.status !== "live" || live.lastPushPerf < due) refresh();
    }, Math.min(delay, MAX_TIMER_MS));
  }

  let scanQueued = false;
  function queueScan() {
    if (scanQueued) return;
    scanQueued = true;
    setTimeout(() => {
      scanQueued = false;
      scanTransitions();
      ageTimes();
    }, 20);
  }

  // -- wiring ----------------------------------------------------------------------------

  function onPageLoad() {
    adoptServerTime();
    if (live.page !== currentPage() || !live.socket) {
      disconnect();
      live.attempts = 0;
      connect();
    }
    scanTransitions();
    ageTimes();
    render();
  }

  function start() {
    new MutationObserver(queueScan).observe(document.documentElement, {
      childList: true,
      subtree: true,
      attributes: true,
      attributeFilter: ["data-next-transition-in-ms"],
    });
    document.addEventListener("turbo:load", onPageLoad);
    document.addEventListener("click", (event) => {
      if (event.target.closest && event.target.closest("[data-live-reconnect]")) reconnectNow();
    });
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && live.status !== "live") reconnectNow();
    });
    window.addEventListener("pagehide", disconnect);
    window.addEventListener("pageshow", (event) => {
      if (event.persisted) {
        setStatus("lost");
        connect();
      }
    });
    setInterval(tick, 500);
    setTimeout(poll, (settings() || {}).pollMs || 30000);
    onPageLoad();
  }

  window.RunwardenLive = { state: live, refresh, reconnect: reconnectNow };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
