// Node's built-in test runner: node --test tests/js/
// Tests the widget's pure logic: formatting, clock-skew correction, ticking, zero crossing.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");

const widget = require(path.join(__dirname, "..", "..", "static", "sponsors", "countdown.js"));

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

function countdown(deadlines, extra) {
  return Object.assign(
    {
      slug: "lantern-awards",
      title: "The Lantern Awards for Marketing",
      closed_message: "Entries closed",
      closed_link: { url: "https://example.com/shortlist", label: "See the shortlist" },
      phases: deadlines.map(([label, deadline]) => ({ label, deadline })),
    },
    extra || {}
  );
}

test("format shows days, hours, minutes and seconds in the seed's shape", () => {
  assert.equal(widget.format(3 * DAY + 4 * HOUR + 12 * MINUTE + 9 * SECOND), "3d 4h 12min 9sec");
  assert.equal(widget.format(59 * SECOND), "0d 0h 0min 59sec");
  assert.equal(widget.format(0), "0d 0h 0min 0sec");
  assert.equal(widget.format(-5 * SECOND), "0d 0h 0min 0sec");
});

test("format rounds a part-second up, so an open countdown never shows zero", () => {
  assert.equal(widget.format(1), "0d 0h 0min 1sec");
  assert.equal(widget.format(999), "0d 0h 0min 1sec");
  assert.equal(widget.format(1000), "0d 0h 0min 1sec");
  assert.equal(widget.format(1001), "0d 0h 0min 2sec");
  assert.equal(widget.format(DAY - 1), "1d 0h 0min 0sec");
});

test("speak gives words for screen readers, seconds only in the last minute", () => {
  assert.equal(widget.speak(3 * DAY + 4 * HOUR + 12 * MINUTE + 9 * SECOND), "3 days 4 hours 12 minutes");
  assert.equal(widget.speak(1 * HOUR), "1 hour");
  assert.equal(widget.speak(45 * SECOND), "45 seconds");
  assert.equal(widget.speak(1 * SECOND), "1 second");
});

test("clock offset corrects a device clock an hour slow, using half the round trip", () => {
  const server = Date.parse("2025-11-30T12:00:00.000Z");
  // The device thinks it is 11:00:00.400 when the answer arrives, 400 ms after asking.
  const receivedAt = server - HOUR + 400;
  const sentAt = receivedAt - 400;
  const offset = widget.clockOffset("2025-11-30T12:00:00.000Z", sentAt, receivedAt, 0);
  assert.equal(offset, HOUR - 200);
  // Corrected "now" at receipt is the server's time plus half the round trip.
  assert.equal(receivedAt + offset, server + 200);
});

test("clock offset adds the age a shared cache reports", () => {
  const t = Date.parse("2025-11-30T12:00:00Z");
  assert.equal(widget.clockOffset("2025-11-30T12:00:00Z", t, t, 7), 7 * SECOND);
});

test("clock offset of a device two minutes fast is negative", () => {
  const server = Date.parse("2025-11-30T12:00:00Z");
  assert.equal(widget.clockOffset(server, server + 2 * MINUTE, server + 2 * MINUTE, 0), -2 * MINUTE);
});

test("the current phase is the first whose deadline is still ahead", () => {
  const phases = [
    { deadline: "2025-11-01T23:59:59+00:00" },
    { deadline: "2025-11-30T23:59:59+00:00" },
  ];
  const second = Date.parse("2025-11-01T23:59:59Z");
  assert.equal(widget.currentPhase(phases, second - 1), 0);
  assert.equal(widget.currentPhase(phases, second), 1, "at the deadline exactly, it has passed");
  assert.equal(widget.currentPhase(phases, Date.parse("2025-12-01T00:00:00Z")), -1);
  assert.equal(widget.currentPhase([], 0), -1);
});

test("deadlines with an offset are compared as instants", () => {
  // 01:30 BST on the morning the clocks go back is 00:30 UTC.
  const phases = [{ deadline: "2025-10-26T01:30:00+01:00" }];
  assert.equal(widget.currentPhase(phases, Date.parse("2025-10-26T00:29:59Z")), 0);
  assert.equal(widget.currentPhase(phases, Date.parse("2025-10-26T00:30:00Z")), -1);
});

test("the next tick lands just after the shown seconds change", () => {
  assert.equal(widget.nextTickDelay(5300), 305);
  assert.equal(widget.nextTickDelay(5000), 1005);
  assert.equal(widget.nextTickDelay(1), 6);
  assert.equal(widget.nextTickDelay(0), 0);
  assert.equal(widget.nextTickDelay(-20), 0);
});

test("ticking from the wall clock shows every second once, even when timers fire late", () => {
  // 10,000 s to go; every timer fires up to 40 ms late (as browsers do). Each tick reads the
  // clock afresh and aims just past the next change, so the shown seconds go down by exactly
  // one per tick: no second shown twice, none skipped, no drift after 10,000 ticks.
  const deadline = 10000 * SECOND + 250;
  const totalSeconds = (ms) => Math.ceil(ms / SECOND);
  let now = 0;
  let seed = 42;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  let shown = totalSeconds(deadline - now);
  let ticks = 0;
  while (now < deadline) {
    now += widget.nextTickDelay(deadline - now) + Math.floor(random() * 40);
    const next = totalSeconds(Math.max(0, deadline - now));
    assert.equal(next, shown - 1, `tick ${ticks}: ${shown} -> ${next}`);
    assert.equal(widget.format(deadline - now), widget.format(next * SECOND));
    shown = next;
    ticks += 1;
  }
  assert.equal(ticks, 10001);
  assert.ok(now - deadline < 50, "the zero crossing is seen within 50 ms");
});

test("milestones are announced once when crossed, not every second", () => {
  assert.equal(widget.milestone(HOUR + 1, HOUR), 3600);
  assert.equal(widget.milestone(HOUR, HOUR - SECOND), null);
  assert.equal(widget.milestone(61 * SECOND, 60 * SECOND), 60);
  assert.equal(widget.milestone(5 * MINUTE, 4 * MINUTE), null);
  assert.equal(widget.milestone(DAY + 1, DAY), 86400);
});

test("view shows the current phase with its label and clock", () => {
  const data = countdown([
    ["Early bird", "2025-11-01T23:59:59+00:00"],
    ["Extended deadline", "2025-11-30T23:59:59+00:00"],
  ]);
  const now = Date.parse("2025-11-27T19:47:50Z");
  const v = widget.view(data, now);
  assert.equal(v.state, "open");
  assert.equal(v.label, "Extended deadline");
  assert.equal(v.clock, "3d 4h 12min 9sec");
  assert.equal(v.title, "The Lantern Awards for Marketing");
});

test("zero crossing: the second before shows 1sec, at the deadline the next phase shows", () => {
  const data = countdown([
    ["Deadline", "2025-11-30T23:59:59+00:00"],
    ["Final deadline", "2025-12-07T23:59:59+00:00"],
  ]);
  const deadline = Date.parse("2025-11-30T23:59:59Z");
  const before = widget.view(data, deadline - SECOND);
  assert.equal(before.label, "Deadline");
  assert.equal(before.clock, "0d 0h 0min 1sec");
  const at = widget.view(data, deadline);
  assert.equal(at.label, "Final deadline");
  assert.equal(at.clock, "7d 0h 0min 0sec");
});

test("zero crossing of the last phase closes, with the closed message and link", () => {
  const data = countdown([["Deadline", "2025-11-30T23:59:59+00:00"]]);
  const v = widget.view(data, Date.parse("2025-11-30T23:59:59Z"));
  assert.equal(v.state, "closed");
  assert.equal(v.label, null);
  assert.equal(v.closedMessage, "Entries closed");
  assert.deepEqual(v.closedLink, { url: "https://example.com/shortlist", label: "See the shortlist" });
});

test("a closed link that is not http(s) is never shown", () => {
  const data = countdown([["Deadline", "2025-11-30T23:59:59+00:00"]], {
    closed_link: { url: "javascript:alert(1)", label: "x" },
  });
  assert.equal(widget.view(data, Date.parse("2026-01-01T00:00:00Z")).closedLink, null);
});

test("parseTime refuses what is not a time", () => {
  assert.throws(() => widget.parseTime("soon"), /Not a time/);
  assert.equal(widget.parseTime("2025-11-30T23:59:59+00:00"), Date.parse("2025-11-30T23:59:59Z"));
});
