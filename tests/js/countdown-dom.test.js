// Node's built-in test runner: node --test tests/js/
// The widget's markup on a bare page, in a minimal stand-in for the DOM (only what the widget
// touches): the text reads as separate words without any stylesheet.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");

class Node {
  constructor(doc, tag) {
    this.ownerDocument = doc;
    this.tagName = tag;
    this.attributes = {};
    this.childNodes = [];
    this.parentNode = null;
    this.hidden = false;
    this.className = "";
    this.text = "";
  }
  setAttribute(name, value) {
    this.attributes[name] = String(value);
  }
  getAttribute(name) {
    return name in this.attributes ? this.attributes[name] : null;
  }
  hasAttribute(name) {
    return name in this.attributes;
  }
  get nextSibling() {
    const siblings = this.parentNode ? this.parentNode.childNodes : [];
    return siblings[siblings.indexOf(this) + 1] || null;
  }
  get firstChild() {
    return this.childNodes[0] || null;
  }
  appendChild(node) {
    return this.insertBefore(node, null);
  }
  insertBefore(node, before) {
    node.parentNode = this;
    const at = before ? this.childNodes.indexOf(before) : -1;
    this.childNodes.splice(at === -1 ? this.childNodes.length : at, 0, node);
    return node;
  }
  get textContent() {
    if (this.tagName === "#text") return this.text;
    return this.childNodes.map((n) => n.textContent).join("");
  }
  set textContent(value) {
    this.childNodes = [];
    if (this.tagName === "#text") this.text = String(value);
    else if (value !== "") this.appendChild(this.ownerDocument.createTextNode(value));
  }
  /** What a reader sees: the text of everything not hidden (the live region is empty here). */
  get visibleText() {
    if (this.tagName === "#text") return this.text;
    return this.hidden ? "" : this.childNodes.map((n) => n.visibleText).join("");
  }
  descendants() {
    return this.childNodes.flatMap((n) => [n, ...n.descendants()]);
  }
  querySelectorAll(selector) {
    // Only the selectors the widget uses: tag[attr], [attr] and [attr="value"].
    const [, tag, name, value] = selector.match(/^(\w*)\[([\w-]+)(?:="([^"]*)")?\]$/);
    return this.descendants().filter(
      (n) =>
        (!tag || n.tagName === tag) &&
        n.hasAttribute(name) &&
        (value === undefined || n.getAttribute(name) === value)
    );
  }
  querySelector(selector) {
    return this.querySelectorAll(selector)[0] || null;
  }
}

class Document extends Node {
  constructor() {
    super(null, "#document");
    this.ownerDocument = this;
    this.readyState = "complete";
    this.head = this.appendChild(new Node(this, "head"));
    this.body = this.appendChild(new Node(this, "body"));
  }
  createElement(tag) {
    return new Node(this, tag);
  }
  createTextNode(text) {
    const node = new Node(this, "#text");
    node.text = String(text);
    return node;
  }
  addEventListener() {}
  removeEventListener() {}
}

const doc = new Document();
globalThis.self = { document: doc, performance: globalThis.performance };
const widget = require(path.join(__dirname, "..", "..", "static", "sponsors", "countdown.js"));

function mounted(data, attributes) {
  const el = doc.body.appendChild(doc.createElement("div"));
  Object.entries(attributes || {}).forEach(([k, v]) => el.setAttribute(k, v));
  const now = Date.now();
  const countdown = widget.mount(el, { data, sentAt: now, receivedAt: now });
  test.after(() => countdown.destroy());
  return el;
}

function data(phases, extra) {
  return Object.assign(
    {
      title: "The Lantern Awards for Marketing",
      server_time: new Date().toISOString(),
      closed_message: "Entries are closed",
      closed_link: null,
      phases,
    },
    extra
  );
}

const SPAN = ((6 * 24 + 5) * 3600 + 59 * 60 + 50) * 1000; // 6d 5h 59min 50sec

test("open: title, label and clock are separated by real text", () => {
  const deadline = new Date(Date.now() + SPAN).toISOString();
  const el = mounted(data([{ label: "Extended deadline", deadline }]));
  const expected = "The Lantern Awards for Marketing \u2014 Extended deadline: 6d 5h 59min 50sec";
  assert.equal(el.textContent, expected);
  assert.equal(el.visibleText, expected);
  // The parts keep their own words: the separators are nodes of their own.
  assert.equal(el.querySelector('[data-countdown-part="label"]').textContent, "Extended deadline");
  assert.equal(el.querySelector('[data-countdown-part="clock"]').textContent, "6d 5h 59min 50sec");
  assert.equal(el.querySelector('[data-countdown-part="clock"]').getAttribute("role"), "timer");
});

test("closed: title, dash, the closed message; no colon left over", () => {
  const el = mounted(data([{ label: "Deadline", deadline: "2020-01-01T00:00:00Z" }]));
  assert.equal(el.getAttribute("data-countdown-state"), "closed");
  assert.equal(el.visibleText, "The Lantern Awards for Marketing \u2014 Entries are closed");
});

test("no title: no dash before the label", () => {
  const deadline = new Date(Date.now() + SPAN).toISOString();
  const el = mounted(data([{ label: "Deadline", deadline }], { title: "" }));
  assert.equal(el.visibleText, "Deadline: 6d 5h 59min 50sec");
});

test("the site's own markup gets no separators added", () => {
  const el = doc.body.appendChild(doc.createElement("p"));
  for (const name of ["label", "clock"]) {
    const span = el.appendChild(doc.createElement("span"));
    span.setAttribute("data-countdown-part", name);
  }
  const deadline = new Date(Date.now() + SPAN).toISOString();
  const countdown = widget.mount(el, { data: data([{ label: "Deadline", deadline }]) });
  test.after(() => countdown.destroy());
  assert.equal(el.querySelectorAll("[data-countdown-sep]").length, 0);
});

test("the default style is injected once, zero-specificity, and can be switched off", () => {
  assert.equal(doc.querySelectorAll("style[data-countdown-default-style]").length, 1);
  const css = doc.querySelector("style[data-countdown-default-style]").textContent;
  // Every rule sits entirely inside :where(), so any selector of the site beats it.
  for (const rule of css.split("}").filter(Boolean)) {
    assert.match(rule, /^:where\([^{]*\)\{/, rule);
  }
  assert.match(css, /:not\(\[data-countdown-style="none"\]\)/);
});
