// Reload the active operations overlay on a timer while live updates are down: every few
// seconds while it shows active runs, slowly when it is empty. The frame's content says how often
// (data-poll-seconds): a frame load swaps the content, never the frame's own attributes.
// When a reload fails, the footer says so, keeping the time of the data shown.
(function () {
  "use strict";

  var FRAME_ID = "active-operations";
  var RETRY_SECONDS = 30;
  var timer = null;

  function frame() {
    return document.getElementById(FRAME_ID);
  }

  function schedule(seconds) {
    window.clearTimeout(timer);
    timer = window.setTimeout(reload, Math.max(1, seconds) * 1000);
  }

  function pollSeconds(element) {
    var holder = element.querySelector("[data-poll-seconds]");
    var value = holder ? parseInt(holder.getAttribute("data-poll-seconds"), 10) : NaN;
    return isNaN(value) ? RETRY_SECONDS : value;
  }

  function reload() {
    var element = frame();
    if (!element || typeof element.reload !== "function") {
      return;
    }
    var live = window.RunwardenLive;
    if (document.hidden || (live && live.state.status === "live")) {
      // Pushed updates keep the frame right while the live stream is up.
      schedule(pollSeconds(element));
      return;
    }
    element.reload();
  }

  function markOffline(element) {
    var status = element.querySelector("[data-overlay-status]");
    if (!status) {
      return;
    }
    var shown = status.querySelector("time");
    var at = shown ? shown.textContent : "earlier";
    status.textContent = "Connection lost — showing data from " + at;
    status.parentElement.classList.add("is-offline");
  }

  document.addEventListener("turbo:frame-load", function (event) {
    if (event.target.id === FRAME_ID) {
      schedule(pollSeconds(event.target));
    }
  });

  document.addEventListener("turbo:fetch-request-error", function (event) {
    var element = frame();
    if (element && element.contains(event.target)) {
      markOffline(element);
      schedule(RETRY_SECONDS);
    }
  });

  document.addEventListener("turbo:frame-missing", function (event) {
    if (event.target.id === FRAME_ID) {
      // The answer had no overlay (signed out, or the tenant is gone): keep what is shown.
      event.preventDefault();
      markOffline(event.target);
      schedule(RETRY_SECONDS);
    }
  });

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && frame()) {
      reload();
    }
  });

  function start() {
    var element = frame();
    if (element) {
      schedule(pollSeconds(element));
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
