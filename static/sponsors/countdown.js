/*!
 * Countdown widget: dependency-free, one file. Renders a countdown from the API in the shape
 * "3d 4h 12min 9sec".
 *
 *   <div data-countdown-slug="lantern-awards-for-marketing"></div>
 *   <script src="https://ads.example.com/static/sponsors/countdown.js" defer></script>
 *
 * or, with the countdown object a creative carries in the ads API:
 *
 *   SponsorsCountdown.mount(element, {data: creative.countdown, sentAt, receivedAt});
 *
 * How it keeps time: the API answers with `server_time`; the widget measures the round trip
 * and keeps `offset = server_time + round_trip / 2 - receive_time` (plus the `Age` a shared
 * cache reports), so a device clock that is off still shows the right time. Every tick reads
 * Date.now() + offset afresh and the next tick is aligned to the moment the seconds change,
 * so nothing drifts. When a deadline passes the widget rolls to the next phase (or shows the
 * closed message) at once and asks the API again, which also picks up extensions. A hidden
 * aria-live="polite" region announces phase changes, closing, and 1 day / 1 hour / 10 min /
 * 1 min left; the ticking clock itself (role="timer") is never announced.
 *
 * It reads "The Lantern Awards for Marketing — Extended deadline: 3d 4h 12min 9sec" on a bare
 * page: the separators are text in the DOM, and a minimal default style (zero-specificity
 * :where() rules, injected once; off with data-countdown-style="none") does the rest. The
 * widget sets no style attribute, so it runs under a Content-Security-Policy without
 * 'unsafe-inline' styles (the injected <style> takes the nonce of the script's tag); with
 * data-countdown-style="none", the site's stylesheet hides the screen-reader-only
 * .countdown__live region (see .visually-hidden in static/site/site.css).
 */
(function (root, factory) {
  "use strict";
  var api = factory(root);
  if (typeof module === "object" && module.exports) {
    module.exports = api;
  }
  if (root && typeof root.document !== "undefined") {
    root.SponsorsCountdown = api;
    api.autoStart();
  }
})(typeof self !== "undefined" ? self : this, function (root) {
  "use strict";

  var PLACEHOLDER = "-d -h -min -sec";
  var TICK_SLACK_MS = 5; // land just after the second changes, never just before
  var MILESTONES = [86400, 3600, 600, 60]; // seconds left worth announcing
  var DEFAULT_API = "/api/v1/countdowns/";
  var DEFAULT_REFRESH_S = 300; // re-sync the clock and pick up extensions on long visits
  var MIN_REFETCH_MS = 1000;
  // Ask again this long after a deadline passes, so the server's clock is surely past it too
  // (asking at the very instant could get the old phase back for a few milliseconds).
  var AFTER_ZERO_MS = 1000;

  // --- Pure functions (exported for tests) -----------------------------------------------

  /** Milliseconds since the epoch from an ISO 8601 string, a Date or a number. */
  function parseTime(value) {
    if (typeof value === "number") return value;
    if (value instanceof Date) return value.getTime();
    var ms = Date.parse(value);
    if (isNaN(ms)) throw new Error("Not a time: " + value);
    return ms;
  }

  /** {days, hours, minutes, seconds} of a span, in whole seconds rounded up (never < 0). */
  function parts(ms) {
    var total = Math.max(0, Math.ceil(ms / 1000));
    return {
      days: Math.floor(total / 86400),
      hours: Math.floor((total % 86400) / 3600),
      minutes: Math.floor((total % 3600) / 60),
      seconds: total % 60,
    };
  }

  /** "3d 4h 12min 9sec": every unit always shown, as on the seed page. */
  function format(ms) {
    var p = parts(ms);
    return p.days + "d " + p.hours + "h " + p.minutes + "min " + p.seconds + "sec";
  }

  function plural(n, word) {
    return n + " " + word + (n === 1 ? "" : "s");
  }

  /** Words for screen readers: "3 days 4 hours 12 minutes" (seconds only in the last minute). */
  function speak(ms) {
    var p = parts(ms);
    var out = [];
    if (p.days) out.push(plural(p.days, "day"));
    if (p.hours) out.push(plural(p.hours, "hour"));
    if (p.minutes) out.push(plural(p.minutes, "minute"));
    if (!out.length) out.push(plural(p.seconds, "second"));
    return out.join(" ");
  }

  /**
   * How far the server's clock is ahead of this device's (ms; negative when behind).
   * `serverTime` was read by the server about half a round trip before `receivedAt`; a shared
   * cache that served a stored copy says how old it is in `age` (seconds).
   */
  function clockOffset(serverTime, sentAt, receivedAt, age) {
    var roundTrip = Math.max(0, receivedAt - sentAt);
    return parseTime(serverTime) + (age || 0) * 1000 + roundTrip / 2 - receivedAt;
  }

  /** Index of the first phase whose deadline is still ahead of `nowMs`, or -1 (closed). */
  function currentPhase(phases, nowMs) {
    for (var i = 0; i < phases.length; i++) {
      if (nowMs < parseTime(phases[i].deadline)) return i;
    }
    return -1;
  }

  /** Milliseconds until the shown seconds change (ceil of the time left changes). */
  function nextTickDelay(remainingMs) {
    if (remainingMs <= 0) return 0;
    var rest = remainingMs % 1000;
    return (rest === 0 ? 1000 : rest) + TICK_SLACK_MS;
  }

  /** The milestone (seconds) crossed going from `beforeMs` to `afterMs` left, or null. */
  function milestone(beforeMs, afterMs) {
    for (var i = MILESTONES.length - 1; i >= 0; i--) {
      var m = MILESTONES[i] * 1000;
      if (beforeMs > m && afterMs <= m) return MILESTONES[i];
    }
    return null;
  }

  /** A safe link target: http(s) only. */
  function safeUrl(url) {
    return typeof url === "string" && /^https?:\/\//i.test(url) ? url : null;
  }

  /**
   * What to show for countdown `data` (the API object) at server time `nowMs`:
   * {state: "open"|"closed", index, label, deadline, remaining, clock, title, closedMessage,
   * closedLink}. Uses the phase list, so it rolls and closes exactly even before the API is
   * asked again.
   */
  function view(data, nowMs) {
    var phases = data.phases || [];
    var index = currentPhase(phases, nowMs);
    var base = {
      title: data.title,
      closedMessage: data.closed_message,
      closedLink:
        data.closed_link && safeUrl(data.closed_link.url)
          ? { url: data.closed_link.url, label: data.closed_link.label || data.closed_link.url }
          : null,
    };
    if (index === -1) {
      return Object.assign(base, {
        state: "closed",
        index: -1,
        label: null,
        deadline: null,
        remaining: 0,
        clock: format(0),
      });
    }
    var phase = phases[index];
    var deadline = parseTime(phase.deadline);
    return Object.assign(base, {
      state: "open",
      index: index,
      label: phase.label,
      deadline: deadline,
      remaining: deadline - nowMs,
      clock: format(deadline - nowMs),
    });
  }

  // --- Fetching --------------------------------------------------------------------------

  var inflight = {}; // url -> promise: countdowns sharing a slug share one request

  function monotonic() {
    return root && root.performance && root.performance.now ? root.performance.now() : Date.now();
  }

  function fetchCountdown(url) {
    if (inflight[url]) return inflight[url];
    var started = monotonic();
    // no-store: the browser must not answer from its cache, or server_time would be old.
    var promise = fetch(url, {
      cache: "no-store",
      credentials: "omit",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        var receivedAt = Date.now();
        var sentAt = receivedAt - (monotonic() - started);
        var age = parseInt(response.headers.get("Age") || "0", 10) || 0;
        if (!response.ok) {
          var error = new Error("Countdown API answered " + response.status);
          error.status = response.status;
          throw error;
        }
        return response.json().then(function (data) {
          return { data: data, sentAt: sentAt, receivedAt: receivedAt, age: age };
        });
      })
      .finally(function () {
        delete inflight[url];
      });
    inflight[url] = promise;
    return promise;
  }

  // --- The widget ------------------------------------------------------------------------

  function part(el, name, tag, build) {
    var found = el.querySelector('[data-countdown-part="' + name + '"]');
    if (found) return found;
    var node = el.ownerDocument.createElement(tag);
    node.setAttribute("data-countdown-part", name);
    node.className = "countdown__" + name;
    if (build) build(node);
    el.appendChild(node);
    return node;
  }

  // Real text between the parts, so the widget reads "Title — Label: 3d 4h 12min 9sec" with no
  // stylesheet at all (and so does textContent, copy-paste and a screen reader).
  var SEPARATORS = { title: " \u2014 ", label: ": " };

  function separator(el, after, name) {
    var found = el.querySelector('[data-countdown-sep="' + name + '"]');
    if (found) return found;
    var node = el.ownerDocument.createElement("span");
    node.setAttribute("data-countdown-sep", name);
    node.className = "countdown__sep";
    el.insertBefore(node, after.nextSibling);
    return node;
  }

  // The built-in look: every selector inside :where() has zero specificity, so any rule of the
  // site wins; data-countdown-style="none" on an element switches it off for that element.
  var DEFAULT_CSS =
    ':where([data-countdown-state]:not([data-countdown-style="none"])){' +
    "font-variant-numeric:tabular-nums}" +
    ':where([data-countdown-state]:not([data-countdown-style="none"]) ' +
    '[data-countdown-part="title"]){font-weight:bold}' +
    ':where([data-countdown-state]:not([data-countdown-style="none"]) ' +
    '[data-countdown-part="clock"]){font-weight:bold;white-space:nowrap}' +
    // The live region is for screen readers only (a site with data-countdown-style="none"
    // hides .countdown__live itself).
    ':where([data-countdown-state]:not([data-countdown-style="none"]) .countdown__live){' +
    "position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;" +
    "clip:rect(0 0 0 0);white-space:nowrap;border:0}";

  function injectDefaultStyle(doc) {
    if (!doc || !doc.createElement || doc.querySelector("style[data-countdown-default-style]")) {
      return;
    }
    var style = doc.createElement("style");
    style.setAttribute("data-countdown-default-style", "");
    // On a page with a nonce-based Content-Security-Policy, the nonce of this script's own
    // tag lets the style in.
    if (scriptNonce) style.nonce = scriptNonce;
    style.textContent = DEFAULT_CSS;
    var head = doc.head || doc.documentElement;
    // First in <head>: equal-specificity site rules that come later win as well.
    head.insertBefore(style, head.firstChild);
  }

  function scriptApiBase() {
    var script = root.document && root.document.currentScript;
    if (script && script.src) {
      try {
        return new URL(DEFAULT_API, script.src).toString();
      } catch (e) {
        /* fall through */
      }
    }
    return DEFAULT_API;
  }

  var defaultApiBase = null;
  var scriptNonce = "";

  function Countdown(el, options) {
    options = options || {};
    this.el = el;
    this.slug = options.slug || el.getAttribute("data-countdown-slug") || null;
    this.apiBase =
      options.apiBase || el.getAttribute("data-countdown-api") || defaultApiBase || DEFAULT_API;
    var refresh = options.refresh;
    if (refresh == null && el.hasAttribute("data-countdown-refresh")) {
      refresh = parseFloat(el.getAttribute("data-countdown-refresh"));
    }
    this.refreshMs = (refresh == null || isNaN(refresh) ? DEFAULT_REFRESH_S : refresh) * 1000;
    this.offset = 0;
    this.data = null;
    this.shown = null; // last view rendered
    this.timer = null;
    this.refreshTimer = null;
    this.lastFetch = -Infinity;
    this.failures = 0;
    this.destroyed = false;
    this._build();
    var self = this;
    this._onVisible = function () {
      if (!root.document.hidden) self.tick();
    };
    root.document.addEventListener("visibilitychange", this._onVisible);
    if (options.data) {
      var receivedAt = options.receivedAt != null ? options.receivedAt : Date.now();
      var sentAt = options.sentAt != null ? options.sentAt : receivedAt;
      this.update(options.data, sentAt, receivedAt, options.age || 0);
    } else if (this.slug) {
      this.refetch();
    }
  }

  Countdown.prototype._build = function () {
    var el = this.el;
    // Markup of the site's own (parts it placed) is left as it is: no separators added to it.
    var ownMarkup = !!el.querySelector("[data-countdown-part]");
    el.setAttribute("data-countdown-state", "loading");
    if (el.getAttribute("data-countdown-style") !== "none") injectDefaultStyle(el.ownerDocument);
    this.titleEl = part(el, "title", "span");
    this.labelEl = part(el, "label", "span");
    this.clockEl = part(el, "clock", "span", function (node) {
      node.textContent = PLACEHOLDER;
    });
    this.titleSep = el.querySelector('[data-countdown-sep="title"]');
    this.labelSep = el.querySelector('[data-countdown-sep="label"]');
    if (!ownMarkup) {
      this.titleSep = separator(el, this.titleEl, "title");
      this.labelSep = separator(el, this.labelEl, "label");
    }
    // role=timer is not announced by itself: screen readers can read it on demand.
    this.clockEl.setAttribute("role", "timer");
    this.clockEl.setAttribute("aria-atomic", "true");
    this.closedEl = part(el, "closed", "span", function (node) {
      node.hidden = true;
    });
    // Hidden by a stylesheet rule (class countdown__live), never a style attribute: a page
    // whose Content-Security-Policy has no 'unsafe-inline' styles refuses those.
    this.liveEl = part(el, "live", "span");
    this.liveEl.setAttribute("aria-live", "polite");
    this.liveEl.setAttribute("aria-atomic", "true");
  };

  Countdown.prototype.url = function () {
    var base = this.apiBase.replace(/\/?$/, "/");
    return base + encodeURIComponent(this.slug) + "/";
  };

  /** Corrected "now": this device's clock plus the measured offset to the server's. */
  Countdown.prototype.now = function () {
    return Date.now() + this.offset;
  };

  Countdown.prototype.update = function (data, sentAt, receivedAt, age) {
    this.data = data;
    this.slug = data.slug || this.slug;
    this.offset = clockOffset(data.server_time, sentAt, receivedAt, age);
    this.failures = 0;
    this.tick();
    this._scheduleRefresh();
  };

  /** Ask the API again in `delay` ms (never sooner than MIN_REFETCH_MS after the last time). */
  Countdown.prototype.refetchIn = function (delay) {
    var self = this;
    var wait = Math.max(delay, MIN_REFETCH_MS - (Date.now() - this.lastFetch), 0);
    clearTimeout(this.refetchTimer);
    this.refetchTimer = setTimeout(function () {
      self.refetch();
    }, wait);
  };

  Countdown.prototype.refetch = function () {
    if (!this.slug || this.destroyed) return;
    var self = this;
    if (Date.now() - this.lastFetch < MIN_REFETCH_MS) {
      this.refetchIn(0);
      return;
    }
    clearTimeout(this.refetchTimer);
    this.lastFetch = Date.now();
    fetchCountdown(this.url()).then(
      function (result) {
        if (!self.destroyed) self.update(result.data, result.sentAt, result.receivedAt, result.age);
      },
      function (error) {
        if (self.destroyed) return;
        self.failures += 1;
        if (!self.data) self.el.setAttribute("data-countdown-state", "error");
        if (error && error.status === 404) return; // no such countdown: stop asking
        // Network trouble: keep counting locally and try again later (30 s, 60 s, ... 5 min).
        self.refetchIn(Math.min(300, 30 * Math.pow(2, self.failures - 1)) * 1000);
      }
    );
  };

  Countdown.prototype._scheduleRefresh = function () {
    var self = this;
    clearTimeout(this.refreshTimer);
    if (this.refreshMs > 0 && this.slug) {
      this.refreshTimer = setTimeout(function () {
        self.refetch();
      }, this.refreshMs);
    }
  };

  Countdown.prototype.announce = function (text) {
    // Clear first so the same words said again are announced again.
    var live = this.liveEl;
    live.textContent = "";
    setTimeout(function () {
      live.textContent = text;
    }, 50);
  };

  Countdown.prototype.tick = function () {
    clearTimeout(this.timer);
    if (!this.data || this.destroyed) return;
    var current = view(this.data, this.now());
    var previous = this.shown;
    this.render(current, previous);
    this.shown = current;
    if (previous && previous.state === "open" && current.index !== previous.index) {
      // A deadline passed: shown at once from the phase list; then ask the server what holds
      // now (an extension, a re-synced clock).
      this.refetchIn(AFTER_ZERO_MS);
    }
    if (current.state === "open") {
      var self = this;
      this.timer = setTimeout(function () {
        self.tick();
      }, nextTickDelay(current.remaining));
    }
  };

  Countdown.prototype.render = function (current, previous) {
    var el = this.el;
    el.setAttribute("data-countdown-state", current.state);
    this.titleEl.textContent = current.title || "";
    // A separator shows only between two parts that both show (emptied, not hidden, so
    // textContent reads right too).
    var after = current.state === "open" || !!(current.closedMessage || current.closedLink);
    this._separate(this.titleSep, "title", !!current.title && after);
    this._separate(this.labelSep, "label", current.state === "open" && !!current.label);
    if (current.state === "closed") {
      this.labelEl.hidden = true;
      this.labelEl.textContent = "";
      this.clockEl.hidden = true;
      this._renderClosed(current);
      if (!previous || previous.state !== "closed") {
        if (previous) this.announce(current.closedMessage || "Closed");
      }
      return;
    }
    this.labelEl.hidden = false;
    this.clockEl.hidden = false;
    this.closedEl.hidden = true;
    this.labelEl.textContent = current.label;
    this.clockEl.textContent = current.clock;
    if (!previous) return; // the first render is read with the page, not announced
    if (previous.state !== "open" || previous.label !== current.label) {
      this.announce(current.label + ": " + speak(current.remaining) + " left");
      return;
    }
    var crossed = milestone(previous.remaining, current.remaining);
    if (crossed) this.announce(speak(crossed * 1000) + " left");
  };

  Countdown.prototype._separate = function (node, name, shown) {
    if (!node) return;
    var text = shown ? SEPARATORS[name] : "";
    if (node.textContent !== text) node.textContent = text;
  };

  Countdown.prototype._renderClosed = function (current) {
    var closed = this.closedEl;
    closed.hidden = false;
    closed.textContent = current.closedMessage || "";
    if (current.closedLink) {
      var link = this.el.ownerDocument.createElement("a");
      link.href = current.closedLink.url;
      link.textContent = current.closedLink.label;
      closed.appendChild(this.el.ownerDocument.createTextNode(" "));
      closed.appendChild(link);
    }
  };

  Countdown.prototype.destroy = function () {
    this.destroyed = true;
    clearTimeout(this.timer);
    clearTimeout(this.refreshTimer);
    clearTimeout(this.refetchTimer);
    root.document.removeEventListener("visibilitychange", this._onVisible);
    delete this.el.sponsorsCountdown;
  };

  /** Start a countdown on `el` (by its data-countdown-slug, or from `options.data`). */
  function mount(el, options) {
    if (el.sponsorsCountdown) return el.sponsorsCountdown;
    if (defaultApiBase === null) defaultApiBase = DEFAULT_API;
    var countdown = new Countdown(el, options);
    el.sponsorsCountdown = countdown;
    return countdown;
  }

  /** Mount every [data-countdown-slug] element under `scope` not yet running. */
  function start(scope) {
    var nodes = (scope || root.document).querySelectorAll("[data-countdown-slug]");
    var mounted = [];
    for (var i = 0; i < nodes.length; i++) mounted.push(mount(nodes[i]));
    return mounted;
  }

  function autoStart() {
    defaultApiBase = scriptApiBase(); // only known while the script itself runs
    var script = root.document && root.document.currentScript;
    scriptNonce = (script && script.nonce) || "";
    var doc = root.document;
    if (doc.readyState === "loading") {
      doc.addEventListener("DOMContentLoaded", function () {
        start();
      });
    } else {
      start();
    }
  }

  return {
    mount: mount,
    start: start,
    autoStart: autoStart,
    Countdown: Countdown,
    // pure helpers, for tests and custom renderers
    parseTime: parseTime,
    parts: parts,
    format: format,
    speak: speak,
    clockOffset: clockOffset,
    currentPhase: currentPhase,
    nextTickDelay: nextTickDelay,
    milestone: milestone,
    view: view,
    PLACEHOLDER: PLACEHOLDER,
    SEPARATORS: SEPARATORS,
    DEFAULT_CSS: DEFAULT_CSS,
  };
});
