// Runwarden page helpers: long messages, filters that apply on change, the wall screen.
//
// - A [data-message] shows two lines; "Show more" opens it (kept open across live
//   morphs), "Copy" copies it. Without this file the message simply shows in full.
// - Forms marked data-auto-submit apply on change (a search box after a short pause):
//   the URL changes in place, the page re-renders itself and its live stream follows the
//   new URL, so pushes keep the same filters. Without JavaScript the Apply button submits.
// - Wall-screen mode (?wall=1, ?wall=0 to leave, or Escape): no chrome, larger type,
//   absolute times shown. ?cycle=<tenant uuid>,...&every=<seconds> (10 s at least, 60 by
//   default) cycles between the overview, as it was opened (?view=table kept), and those
//   tenants' dashboards; cycle may repeat, and cycle=problems adds every tenant the
//   overview shows with problems, read again at each visit of the overview (the
//   overview's "Wall screen" form writes these). Escape or ?wall=0 stops it.
(function () {
  "use strict";
  if (window.RunwardenUx) return;

  const WALL_KEY = "runwarden.wall";
  const CYCLE_KEY = "runwarden.cycle";
  const opened = new Set();
  let typingTimer = null;

  // -- messages ---------------------------------------------------------------------

  function wireMessages() {
    document.querySelectorAll("[data-message]").forEach((box) => {
      const key = box.getAttribute("data-message");
      const text = box.querySelector(".message-text");
      const more = box.querySelector("[data-message-more]");
      const copy = box.querySelector("[data-message-copy]");
      if (!text || !more) return;
      const open = opened.has(key);
      box.classList.toggle("is-open", open);
      const clipped = open || text.scrollHeight > text.clientHeight + 1;
      more.hidden = !clipped;
      more.textContent = open ? "Show less" : "Show more";
      more.setAttribute("aria-expanded", open ? "true" : "false");
      if (copy) copy.hidden = !(navigator.clipboard && window.isSecureContext);
    });
  }

  function onClick(event) {
    const more = event.target.closest("[data-message-more]");
    if (more) {
      const key = more.closest("[data-message]").getAttribute("data-message");
      if (opened.has(key)) opened.delete(key);
      else opened.add(key);
      wireMessages();
      return;
    }
    const copy = event.target.closest("[data-message-copy]");
    if (copy) {
      const box = copy.closest("[data-message]");
      const done = box.querySelector("[data-message-copied]");
      navigator.clipboard.writeText(box.querySelector(".message-text").textContent).then(
        () => done && (done.textContent = "Copied"),
        () => done && (done.textContent = "Could not copy"),
      );
    }
  }

  // -- filters that apply on change -----------------------------------------------------

  function formUrl(form) {
    const params = new URLSearchParams();
    new FormData(form).forEach((value, key) => {
      if (value !== "") params.append(key, value);
    });
    const query = params.toString();
    return form.getAttribute("action") + (query ? `?${query}` : "");
  }

  function follow(url) {
    if (url === location.pathname + location.search) return;
    history.pushState({ runwarden: true }, "", url);
    rerender();
  }

  function rerender() {
    const live = window.RunwardenLive;
    if (!live) {
      location.reload();
      return;
    }
    live.refresh();
    live.reconnect();
  }

  function onChange(event) {
    const form = event.target.closest && event.target.closest("form[data-auto-submit]");
    if (!form || event.target.type === "search") return;
    follow(formUrl(form));
  }

  function onInput(event) {
    const form = event.target.closest && event.target.closest("form[data-auto-submit]");
    if (!form || event.target.type !== "search") return;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => follow(formUrl(form)), 350);
  }

  function onSubmit(event) {
    const form = event.target.closest("form[data-auto-submit]");
    if (!form || !window.RunwardenLive) return;
    event.preventDefault();
    clearTimeout(typingTimer);
    follow(formUrl(form));
  }

  // -- the wall screen ------------------------------------------------------------------

  function storage() {
    try {
      return window.sessionStorage;
    } catch (error) {
      return null;
    }
  }

  // The overview as the wall was opened on it (its view and filters), without the wall's
  // own parameters: the stop the cycle comes back to.
  function overviewStop() {
    const params = new URLSearchParams(location.search);
    ["wall", "cycle", "every"].forEach((key) => params.delete(key));
    const query = params.toString();
    return location.pathname === "/admin" && query ? `/admin?${query}` : "/admin";
  }

  function wall() {
    const params = new URLSearchParams(location.search);
    const store = storage();
    if (params.get("wall") === "1") {
      if (store) store.setItem(WALL_KEY, "1");
      if (params.getAll("cycle").length && store) {
        store.setItem(CYCLE_KEY, JSON.stringify(cyclePlan(params)));
      }
    } else if (params.get("wall") === "0" && store) {
      store.removeItem(WALL_KEY);
      store.removeItem(CYCLE_KEY);
    }
    const on = (store && store.getItem(WALL_KEY) === "1") || params.get("wall") === "1";
    document.documentElement.toggleAttribute("data-wall", on);
    if (on) scheduleCycle(store);
  }

  const TENANT_KEY = /^[0-9A-Za-z-]{1,64}$/;

  function uuids(list) {
    return Array.isArray(list) ? [...new Set(list.filter((uuid) => TENANT_KEY.test(uuid)))] : [];
  }

  function cyclePlan(params) {
    const every = Math.max(10, parseInt(params.get("every"), 10) || 60);
    const chosen = params.getAll("cycle").flatMap((value) => value.split(","));
    const problems = chosen.includes("problems");
    const tenants = uuids(chosen.filter((value) => value !== "problems"));
    return { tenants, problems, found: [], every, overview: overviewStop() };
  }

  // The tenants the overview on screen shows with problems (likely stale, late, follow-up).
  function problemTenants() {
    const shown = document.querySelectorAll("[data-tenant-card][data-problem]");
    return uuids(Array.from(shown, (card) => card.getAttribute("data-tenant-card")));
  }

  // The page after this one: the overview, then the chosen tenants, then (with problems)
  // those the overview showed with problems when last seen; null to stay on this page.
  function nextStop(store, plan) {
    const overview = typeof plan.overview === "string" && plan.overview.startsWith("/admin") ? plan.overview : "/admin";
    if (plan.problems && location.pathname === "/admin") {
      plan.found = problemTenants();
      store.setItem(CYCLE_KEY, JSON.stringify(plan));
    }
    const tenants = uuids(uuids(plan.tenants).concat(plan.problems ? uuids(plan.found) : []));
    const stops = [overview].concat(tenants.map((uuid) => `/admin/t/${encodeURIComponent(uuid)}`));
    const here = stops.findIndex((stop) => stop.split("?")[0] === location.pathname);
    const next = stops[(here + 1) % stops.length];
    return here >= 0 && stops.length === 1 ? null : next;
  }

  let cycleTimer = null;
  function scheduleCycle(store) {
    let plan = null;
    try {
      plan = store && JSON.parse(store.getItem(CYCLE_KEY) || "null");
    } catch (error) {
      plan = null;
    }
    if (!plan || !(uuids(plan.tenants).length || plan.problems)) return;
    clearTimeout(cycleTimer);
    cycleTimer = setTimeout(() => {
      const next = nextStop(store, plan);
      if (next) location.assign(next);
      else scheduleCycle(store);
    }, Math.max(10, plan.every || 60) * 1000);
  }

  function leaveWall(event) {
    if (event.key !== "Escape" || !document.documentElement.hasAttribute("data-wall")) return;
    const store = storage();
    if (store) {
      store.removeItem(WALL_KEY);
      store.removeItem(CYCLE_KEY);
    }
    clearTimeout(cycleTimer);
    cycleTimer = null;
    document.documentElement.removeAttribute("data-wall");
  }

  // -- wiring ---------------------------------------------------------------------------

  let queued = false;
  function queue() {
    if (queued) return;
    queued = true;
    setTimeout(() => {
      queued = false;
      wireMessages();
    }, 30);
  }

  function start() {
    document.documentElement.classList.add("js");
    wall();
    wireMessages();
    const content = document.getElementById("page-content") || document.body;
    new MutationObserver(queue).observe(content, { childList: true, subtree: true });
    document.addEventListener("click", onClick);
    document.addEventListener("change", onChange);
    document.addEventListener("input", onInput);
    document.addEventListener("submit", onSubmit);
    document.addEventListener("keydown", leaveWall);
    window.addEventListener("popstate", rerender);
    window.addEventListener("resize", queue);
  }

  window.RunwardenUx = { wireMessages };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
