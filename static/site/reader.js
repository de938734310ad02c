/*!
 * The reference pages' tracking: one file, no dependencies, no inline script needed (a strict
 * Content-Security-Policy can allow 'self' scripts only). It reads the page's data attributes:
 *
 *   <div class="ad-slot" data-slot="leaderboard" data-impression-url="URL">…</div>
 *       the slot's impression beacon, sent once when the creative begins to render in the
 *       viewport (IntersectionObserver, threshold 0), never before it scrolls into view;
 *   <article data-read-url="URL">…</article>
 *       the article's read beacon, sent once per page view (once the page is visible);
 *   <div data-countdown-mount="ID"></div> + <script type="application/json" id="ID">
 *       the promo strip's countdown, mounted with the countdown widget
 *       (static/sponsors/countdown.js, loaded before this file) from the data the page
 *       carries, its clock corrected with the page's own request timing.
 *
 * Beacons are POSTs without a body (navigator.sendBeacon, else fetch with keepalive).
 */
(function () {
  "use strict";

  var doc = document;

  function beacon(url) {
    if (!url) return;
    try {
      if (navigator.sendBeacon && navigator.sendBeacon(url)) return;
    } catch (e) {
      /* fall back to fetch */
    }
    if (window.fetch) {
      window.fetch(url, { method: "POST", keepalive: true, credentials: "omit" }).catch(function () {});
    }
  }

  // --- Impressions: once per slot, when it first enters the viewport ----------------------

  function watchImpressions() {
    var slots = doc.querySelectorAll("[data-impression-url]");
    if (!slots.length) return;
    if (!("IntersectionObserver" in window)) return; // no way to know it was seen: send none
    var observer = new IntersectionObserver(
      function (entries) {
        for (var i = 0; i < entries.length; i++) {
          var entry = entries[i];
          if (!entry.isIntersecting) continue;
          var el = entry.target;
          observer.unobserve(el);
          if (el.getAttribute("data-impression-sent")) continue;
          el.setAttribute("data-impression-sent", "1");
          beacon(el.getAttribute("data-impression-url"));
        }
      },
      { threshold: 0 }
    );
    for (var i = 0; i < slots.length; i++) observer.observe(slots[i]);
  }

  // --- The read: once per page view, when the page is first visible ------------------------

  function sendRead() {
    var article = doc.querySelector("article[data-read-url]");
    var url = article && article.getAttribute("data-read-url");
    if (!url || article.getAttribute("data-read-sent")) return;
    article.setAttribute("data-read-sent", "1");
    beacon(url);
  }

  function watchRead() {
    if (doc.visibilityState !== "hidden") {
      sendRead();
      return;
    }
    doc.addEventListener("visibilitychange", function onVisible() {
      if (doc.visibilityState === "hidden") return;
      doc.removeEventListener("visibilitychange", onVisible);
      sendRead();
    });
  }

  // --- The promo strip's countdown -----------------------------------------------------------

  /** When the page's request left and its answer arrived (epoch ms), for the widget's clock. */
  function pageTiming() {
    var perf = window.performance;
    var nav = perf && perf.getEntriesByType && perf.getEntriesByType("navigation")[0];
    var origin = perf && (perf.timeOrigin || (perf.timing && perf.timing.navigationStart));
    if (nav && origin && nav.responseStart > 0) {
      return { sentAt: origin + nav.requestStart, receivedAt: origin + nav.responseStart };
    }
    var now = Date.now();
    return { sentAt: now, receivedAt: now };
  }

  function mountCountdowns() {
    var widget = window.SponsorsCountdown;
    var nodes = doc.querySelectorAll("[data-countdown-mount]");
    if (!widget || !nodes.length) return;
    var timing = pageTiming();
    for (var i = 0; i < nodes.length; i++) {
      var source = doc.getElementById(nodes[i].getAttribute("data-countdown-mount"));
      if (!source) continue;
      try {
        var data = JSON.parse(source.textContent);
        widget.mount(nodes[i], { data: data, sentAt: timing.sentAt, receivedAt: timing.receivedAt });
      } catch (e) {
        /* a countdown that cannot start leaves the strip's text as it is */
      }
    }
  }

  function start() {
    mountCountdowns();
    watchImpressions();
    watchRead();
  }

  if (doc.readyState === "loading") {
    doc.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
