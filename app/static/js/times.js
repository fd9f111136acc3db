// Runwarden times: absolute times in the reader's choice of zone, one format everywhere.
//
// Pages render absolute instants in UTC as <time datetime data-abs> ("14:32 UTC" today,
// "Nov 27 14:32 UTC" another day, "Nov 27 2025 14:32 UTC" another year) and relative ones
// as <time datetime data-rel>. This file rewrites the absolute ones, and the tooltips of
// both, in the zone chosen in the top bar: the browser's own (the default, named) or UTC.
// The choice is kept in localStorage, so a live push (rendered once for many viewers, in
// UTC) is put back into the reader's zone as soon as it lands.
//
// A list's "From" / "To" fields are wall times in the zone its hidden "tz" field names
// (UTC as the server renders them without one). Here they move to the chosen zone: the
// same instants, shown and submitted as wall times of that zone, with the zone named.
(function () {
  "use strict";
  if (window.RunwardenTimes) return;

  const KEY = "runwarden.timeZone";
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const formats = new Map();

  function browserZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
    } catch (error) {
      return "UTC";
    }
  }

  function choice() {
    try {
      return localStorage.getItem(KEY) === "UTC" ? "UTC" : "local";
    } catch (error) {
      return "local";
    }
  }

  function zone() {
    return choice() === "UTC" ? "UTC" : browserZone();
  }

  function format(zoneName) {
    if (!formats.has(zoneName)) {
      formats.set(
        zoneName,
        new Intl.DateTimeFormat("en-US", {
          timeZone: zoneName,
          year: "numeric",
          month: "numeric",
          day: "numeric",
          hour: "2-digit",
          minute: "2-digit",
          second: "2-digit",
          hourCycle: "h23",
          timeZoneName: "short",
        }),
      );
    }
    return formats.get(zoneName);
  }

  function parts(date, zoneName) {
    const out = {};
    format(zoneName)
      .formatToParts(date)
      .forEach((part) => {
        out[part.type] = part.value;
      });
    const label = zoneName === "UTC" ? "UTC" : out.timeZoneName;
    return {
      year: +out.year,
      month: +out.month,
      day: +out.day,
      hm: `${out.hour}:${out.minute}`,
      s: out.second,
      zone: label,
    };
  }

  function instant(value) {
    return Date.parse(/[zZ]|[+-]\d\d:\d\d$/.test(value) ? value : `${value}Z`);
  }

  // The server's format, in another zone: same day, another day, another year.
  function clock(at, now, zoneName) {
    const p = parts(new Date(at), zoneName);
    const n = parts(new Date(now), zoneName);
    if (p.year === n.year && p.month === n.month && p.day === n.day) return `${p.hm} ${p.zone}`;
    const year = p.year !== n.year ? ` ${p.year}` : "";
    return `${MONTHS[p.month - 1]} ${p.day}${year} ${p.hm} ${p.zone}`;
  }

  function exact(at, zoneName) {
    const p = parts(new Date(at), zoneName);
    return `${MONTHS[p.month - 1]} ${p.day} ${p.year} ${p.hm}:${p.s} ${p.zone}`;
  }

  // Milliseconds that ``zoneName`` is ahead of UTC at the instant ``at``.
  function offset(zoneName, at) {
    const whole = Math.floor(at / 1000) * 1000;
    const p = parts(new Date(whole), zoneName);
    const [h, m] = p.hm.split(":").map(Number);
    return Date.UTC(p.year, p.month - 1, p.day, h, m, +p.s) - whole;
  }

  // The instant of a datetime-local value read in ``zoneName`` (NaN when it is not one).
  function fromWall(value, zoneName) {
    const wall = Date.parse(`${value}Z`);
    if (!Number.isFinite(wall)) return NaN;
    const guess = wall - offset(zoneName, wall);
    return wall - offset(zoneName, guess);
  }

  function toWall(at, zoneName) {
    const p = parts(new Date(at), zoneName);
    const pad = (n) => String(n).padStart(2, "0");
    const seconds = p.s === "00" ? "" : `:${p.s}`;
    return `${p.year}-${pad(p.month)}-${pad(p.day)}T${p.hm}${seconds}`;
  }

  function moveRanges(zoneName) {
    document.querySelectorAll("input[data-range-zone]").forEach((field) => {
      const from = field.value || "UTC";
      if (from !== zoneName) {
        field.form.querySelectorAll('input[type="datetime-local"]').forEach((input) => {
          if (!input.value) return;
          const at = fromWall(input.value, from);
          if (Number.isFinite(at)) input.value = toWall(at, zoneName);
        });
        field.value = zoneName;
      }
      field.form.querySelectorAll("[data-zone-label]").forEach((label) => {
        if (label.textContent !== zoneName) label.textContent = zoneName;
      });
    });
  }

  function now() {
    const live = window.RunwardenLive;
    return Date.now() + ((live && live.state && live.state.serverOffset) || 0);
  }

  function apply() {
    const zoneName = zone();
    const current = now();
    document.querySelectorAll("time[data-abs], time[data-rel]").forEach((element) => {
      const at = instant(element.getAttribute("datetime") || "");
      if (!Number.isFinite(at)) return;
      const title = exact(at, zoneName);
      if (element.getAttribute("title") !== title) element.setAttribute("title", title);
      const text = clock(at, current, zoneName);
      if (element.hasAttribute("data-abs")) {
        if (element.textContent !== text) element.textContent = text;
      } else if (element.getAttribute("data-abs-text") !== text) {
        element.setAttribute("data-abs-text", text);
      }
    });
    document.documentElement.setAttribute("data-time-zone", zoneName);
    moveRanges(zoneName);
    wireSetting();
  }

  let queued = false;
  function queue() {
    if (queued) return;
    queued = true;
    setTimeout(() => {
      queued = false;
      apply();
    }, 30);
  }

  function setChoice(value) {
    try {
      if (value === "UTC") localStorage.setItem(KEY, "UTC");
      else localStorage.removeItem(KEY);
    } catch (error) {
      // Storage refused (private mode): the choice lasts for this page only.
    }
    apply();
  }

  // Run again after every morph of the page: a re-render puts the server's hidden
  // attributes and default option back.
  const wired = new WeakSet();
  function wireSetting() {
    const select = document.getElementById("time-zone-choice");
    if (!select) return;
    const local = select.querySelector('option[value="local"]');
    const text = `Your zone (${browserZone()})`;
    if (local && local.textContent !== text) local.textContent = text;
    if (select.value !== choice()) select.value = choice();
    if (select.hidden) select.hidden = false;
    const label = document.querySelector("[data-time-setting]");
    if (label && label.hidden) label.hidden = false;
    if (wired.has(select)) return;
    wired.add(select);
    select.addEventListener("change", () => setChoice(select.value));
  }

  function start() {
    wireSetting();
    apply();
    new MutationObserver(queue).observe(document.documentElement, {
      childList: true,
      subtree: true,
      attributes: true,
      attributeFilter: ["datetime", "hidden"],
    });
    setInterval(apply, 60000);
    window.addEventListener("storage", (event) => {
      if (event.key === KEY) {
        const select = document.getElementById("time-zone-choice");
        if (select) select.value = choice();
        apply();
      }
    });
  }

  window.RunwardenTimes = { apply, setChoice, zone, clock, exact };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
