// Runwarden live updates: the stream socket, honest connection state, time-exact refreshes.
//
// - On pages with a #live-status element, connects to the stream socket named by
//   <meta name="runwarden-live">, feeds Turbo Stream messages to Turbo, reconnects with
//   backoff, and reconnects on every Turbo Drive navigation (so the server re-checks
//   the session for the new page). The server pushes time-only freshness changes too.
// - #live-status says "Live · updated N s ago" while the server keeps confirming the
//   stream, or "Connection lost — showing data from HH:MM UTC" when it does not.
// - Fragments may carry data-next-transition-in-ms: the page refreshes itself that many
//   milliseconds (plus a margin) after it received them, so freshness flips on time even
//   while the socket is down.
// - A refresh fetches the page and morphs <body> (turbo-frames with a src reload
//   instead). It runs after a reconnect, at transitions, and every pollMs while the
//   socket is down.
(function () {
  "use strict";
  if (window.RunwardenLive) return;

  const MARGIN_MS = 250;
  const MIN_DELAY_MS = 100;
  const MAX_TIMER_MS = 2147483647;
  const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000, 30000];

  const live = {
    status: "connecting",
    socket: null,
    confirmedAt: Date.now(),
    lastMessageAt: 0,
    attempts: 0,
    page: null,
    reconnectTimer: null,
    transitionTimer: null,
    transitionDue: null,
    refreshing: null,
    refreshAgain: false,
    morphing: false,
    refreshes: 0,
    pushes: 0,
    lastPushAt: null,
  };

  function settings() {
    const meta = document.querySelector('meta[name="runwarden-live"]');
    if (!meta || !document.getElementById("live-status")) return null;
    return {
      stream: meta.getAttribute("data-stream"),
      renderedAt: meta.getAttribute("data-rendered-at") || "",
      pollMs: parseInt(meta.getAttribute("data-poll-ms"), 10) || 30000,
      heartbeatMs: parseInt(meta.getAttribute("data-heartbeat-ms"), 10) || 10000,
    };
  }

  function currentPage() {
    return location.pathname + location.search;
  }

  // -- the socket -------------------------------------------------------------------

  function connect() {
    clearTimeout(live.reconnectTimer);
    if (live.socket && live.socket.readyState <= WebSocket.OPEN) return;
    const config = settings();
    if (!config || !config.stream) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const query = new URLSearchParams({ page: currentPage(), since: config.renderedAt });
    let socket;
    try {
      socket = new WebSocket(`${scheme}//${location.host}${config.stream}?${query}`);
    } catch (error) {
      scheduleReconnect();
      return;
    }
    live.socket = socket;
    live.page = currentPage();
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
      window.Turbo.renderStreamMessage(data);
      if (live.status === "live") live.confirmedAt = Date.now();
    } else if (data === "ping") {
      const recovering = live.status === "lost";
      live.attempts = 0;
      if (!recovering) live.confirmedAt = Date.now();
      setStatus("live");
      if (recovering) refresh();
    } else if (data === "stale") {
      setStatus("lost");
    }
  }

  function onClose(socket) {
    if (socket !== live.socket) return;
    live.socket = null;
    setStatus("lost");
    scheduleReconnect();
  }

  function scheduleReconnect() {
    clearTimeout(live.reconnectTimer);
    const base = BACKOFF_MS[Math.min(live.attempts, BACKOFF_MS.length - 1)];
    live.attempts += 1;
    const delay = base / 2 + Math.random() * (base / 2);
    live.reconnectTimer = setTimeout(connect, delay);
  }

  // -- the status line ----------------------------------------------------------------

  function setStatus(status) {
    live.status = status;
    render();
  }

  function clockTime(timestamp) {
    return `${new Date(timestamp).toISOString().slice(11, 16)} UTC`;
  }

  function render() {
    const element = document.getElementById("live-status");
    if (!element) return;
    let text;
    if (live.status === "live") {
      const seconds = Math.max(0, Math.round((Date.now() - live.confirmedAt) / 1000));
      text = `Live · updated ${seconds} s ago`;
    } else if (live.status === "lost") {
      text = `Connection lost — showing data from ${clockTime(live.confirmedAt)}`;
    } else {
      text = "Connecting to live updates…";
    }
    if (element.textContent !== text) element.textContent = text;
    element.setAttribute("data-state", live.status);
    element.setAttribute("data-confirmed-at", new Date(live.confirmedAt).toISOString());
  }

  function tick() {
    const config = settings();
    if (config && live.socket && live.status === "live") {
      if (Date.now() - live.lastMessageAt > config.heartbeatMs * 2.5) {
        const socket = live.socket;
        onClose(socket);
        socket.close();
      }
    }
    render();
  }

  function poll() {
    if (live.status !== "live" && settings()) refresh();
    const config = settings();
    setTimeout(poll, config ? config.pollMs : 30000);
  }

  // -- refreshing the page ------------------------------------------------------------

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
    live.confirmedAt = Date.now();
    render();
    scanTransitions();
    return true;
  }

  function adoptRenderTime(page) {
    const fetched = page.querySelector('meta[name="runwarden-live"]');
    const current = document.querySelector('meta[name="runwarden-live"]');
    if (fetched && current) {
      current.setAttribute("data-rendered-at", fetched.getAttribute("data-rendered-at") || "");
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
    const delay = Math.max(MIN_DELAY_MS, due + MARGIN_MS - performance.now());
    live.transitionTimer = setTimeout(() => {
      live.transitionDue = null;
      refresh();
    }, Math.min(delay, MAX_TIMER_MS));
  }

  let scanQueued = false;
  function queueScan() {
    if (scanQueued) return;
    scanQueued = true;
    setTimeout(() => {
      scanQueued = false;
      scanTransitions();
    }, 20);
  }

  // -- wiring ----------------------------------------------------------------------------

  function onPageLoad() {
    live.confirmedAt = Math.max(live.confirmedAt, Date.now());
    if (live.page !== currentPage() || !live.socket) {
      disconnect();
      live.attempts = 0;
      connect();
    }
    scanTransitions();
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
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && live.status !== "live") {
        refresh();
        connect();
      }
    });
    window.addEventListener("pagehide", disconnect);
    window.addEventListener("pageshow", (event) => {
      if (event.persisted) {
        setStatus("lost");
        connect();
      }
    });
    setInterval(tick, 1000);
    setTimeout(poll, (settings() || {}).pollMs || 30000);
    onPageLoad();
  }

  window.RunwardenLive = {
    state: live,
    refresh,
    reconnect: () => {
      disconnect();
      connect();
    },
  };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
