"""The countdown widget in a real browser (Debian's Chromium) against the live server.

Shows that a device clock an hour off still shows the right time, that the widget rolls to the
next phase and closes at zero (asking the API again), that several countdowns run on one page,
that screen readers hear phase changes, not every second, and that on a bare page (no
stylesheet) the widget reads as separate words. ``E2E_SCREENSHOT_DIR=<dir>`` keeps a screenshot
of that bare page.

Both clocks are pinned, so what the page shows is exact however slow the machine: the live
server runs in this process, frozen by time-machine, and the page's clock is Playwright's
fake clock, paused and moved on only by the test.
"""

import datetime as dt
import json
import os
import urllib.request
from pathlib import Path

import pytest
import time_machine

from tests.e2e.browser import NEEDS_CHROMIUM
from tests.sponsors.factories_countdowns import countdown_with_phases

pytestmark = NEEDS_CHROMIUM

HOUR = dt.timedelta(hours=1)
# Half a second past a whole second, as a real page load would be: the widget rounds the time
# left up, and its ticks land just after each whole second. Deadlines are whole seconds.
NOW = dt.datetime(2026, 11, 27, 9, 0, 0, 500_000, tzinfo=dt.UTC)
WHOLE = NOW.replace(microsecond=0)
# Only waits for the page and the live server to do their work: generous for a loaded machine,
# never part of what a test claims about time (both clocks stand still meanwhile).
WAIT_MS = 30_000


# Counts the page's calls to the countdown API in window.apiCalls.
COUNT_API_CALLS = """
(() => {
  window.apiCalls = 0;
  const realFetch = window.fetch;
  window.fetch = function (url, options) {
    if (String(url).includes('/api/v1/countdowns/')) window.apiCalls += 1;
    return realFetch.call(this, url, options);
  };
})();
"""


@pytest.fixture
def server_clock():
    """The live server's clock, frozen at NOW; a test moves it on together with the page's."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def ms(moment: dt.datetime) -> int:
    return round(moment.timestamp() * 1000)


def iso(moment: dt.datetime) -> str:
    """``server_time`` as the API writes it."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def open_page(browser, live_server, body: str, *, device_time: dt.datetime | None = None):
    """A page on the live server's origin that includes the widget from the static files.

    With ``device_time``, the page's clock (Date, timers, performance.now) starts there and
    stands still until the test runs it on.
    """
    page = browser.new_page()
    page.add_init_script(COUNT_API_CALLS)
    if device_time is not None:
        # Installed a minute before: pausing may only move the page's clock forward.
        page.clock.install(time=device_time - dt.timedelta(minutes=1))
        page.clock.pause_at(device_time)
    url = f"{live_server.url}/countdown-test-page/"
    html = (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>t</title></head><body>"
        f"{body}<script src='/static/sponsors/countdown.js'></script></body></html>"
    )
    page.route(url, lambda route: route.fulfill(status=200, content_type="text/html", body=html))
    api_calls = []
    page.on(
        "request",
        lambda request: (
            api_calls.append(request.url) if "/api/v1/countdowns/" in request.url else None
        ),
    )
    page.goto(url)
    return page, api_calls


def part(page, slug, name):
    return page.locator(f'[data-countdown-slug="{slug}"] [data-countdown-part="{name}"]')


def test_a_device_clock_an_hour_slow_still_shows_the_right_time(
    launch_browser, live_server, server_clock
):
    deadline = WHOLE + dt.timedelta(days=3, hours=4, minutes=12, seconds=40)
    countdown_with_phases(
        ("Extended deadline", deadline), slug="lantern", title="The Lantern Awards"
    )
    page, _ = open_page(
        launch_browser(),
        live_server,
        '<div data-countdown-slug="lantern"></div>',
        device_time=NOW - HOUR,
    )
    clock = part(page, "lantern", "clock")
    page.wait_for_function(
        "() => document.querySelector('[data-countdown-state=\"open\"]') !== null", timeout=WAIT_MS
    )
    assert page.evaluate("Date.now()") == ms(NOW - HOUR), "the page's clock is an hour slow"
    # 3d 4h 12min 39.5s left by the server's clock, rounded up; not an hour more.
    assert clock.inner_text() == "3d 4h 12min 40sec"
    assert part(page, "lantern", "label").inner_text() == "Extended deadline"
    assert part(page, "lantern", "title").inner_text() == "The Lantern Awards"
    # It keeps ticking, a second at a time.
    page.clock.run_for(1000)
    assert clock.inner_text() == "3d 4h 12min 39sec"
    page.clock.run_for(1000)
    assert clock.inner_text() == "3d 4h 12min 38sec"


def test_at_zero_the_widget_switches_phase_then_closes_and_asks_the_api(
    launch_browser, live_server, server_clock
):
    first_deadline = WHOLE + dt.timedelta(seconds=10)
    second_deadline = first_deadline + dt.timedelta(seconds=3)
    countdown_with_phases(
        ("Deadline", first_deadline),
        ("Final deadline", second_deadline),
        slug="zero",
        closed_message="Entries closed",
        closed_link_url="https://example.com/shortlist",
        closed_link_label="See the shortlist",
    )
    # The device clock is an hour fast this time: the switch must still happen on time.
    page, api_calls = open_page(
        launch_browser(),
        live_server,
        '<div data-countdown-slug="zero"></div>',
        device_time=NOW + HOUR,
    )
    page.wait_for_function(
        "() => document.querySelector('[data-countdown-part=label]').textContent === 'Deadline'",
        timeout=WAIT_MS,
    )
    # Record every change of what is shown, and every announcement, as it happens.
    page.evaluate(
        """() => {
          const el = document.querySelector('[data-countdown-slug=zero]');
          const live = el.querySelector('[data-countdown-part=live]');
          const key = () => el.getAttribute('data-countdown-state') + ':'
            + el.querySelector('[data-countdown-part=label]').textContent;
          window.switches = [{key: key(), at: el.sponsorsCountdown.now(), calls: window.apiCalls}];
          window.announced = [];
          new MutationObserver(() => {
            const last = window.switches[window.switches.length - 1];
            if (last.key !== key()) {
              window.switches.push({key: key(), at: el.sponsorsCountdown.now(),
                                    calls: window.apiCalls});
            }
            if (live.textContent && live.textContent !== window.announced.at(-1)) {
              window.announced.push(live.textContent);
            }
          }).observe(el, {subtree: true, childList: true, characterData: true, attributes: true});
        }"""
    )

    def time_passes(until: dt.datetime) -> None:
        """Both clocks move on to ``until``; the server answers as of ``until`` what the page
        asks on the way."""
        step = until - dt.datetime.now(dt.UTC)  # the server's clock: frozen, so exact
        server_clock.move_to(until)
        page.clock.run_for(step // dt.timedelta(milliseconds=1))

    def answered_at(moment: dt.datetime) -> None:
        page.wait_for_function(
            "(t) => document.querySelector('[data-countdown-slug=zero]')"
            ".sponsorsCountdown.data.server_time === t",
            arg=iso(moment),
            timeout=WAIT_MS,
        )

    time_passes(first_deadline + dt.timedelta(milliseconds=500))
    time_passes(first_deadline + dt.timedelta(milliseconds=1500))
    answered_at(first_deadline + dt.timedelta(milliseconds=1500))
    time_passes(second_deadline + dt.timedelta(milliseconds=500))
    time_passes(second_deadline + dt.timedelta(milliseconds=1500))
    answered_at(second_deadline + dt.timedelta(milliseconds=1500))
    switches = page.evaluate("window.switches")
    # Exactly these three, in order: no flash back to an ended phase when the API answers.
    assert [s["key"] for s in switches] == ["open:Deadline", "open:Final deadline", "closed:"]
    opened, to_final, closed = switches
    assert opened["at"] == ms(NOW)  # the server's time, though the device is an hour fast
    # Switched from the phase list at zero, before asking the API again (1 s later) ...
    assert (to_final["calls"], closed["calls"]) == (1, 2)
    # ... on time by the corrected clock: never early, and late only by the few milliseconds
    # a tick waits after the second changes (the page's clock has no timer delays).
    assert 0 <= to_final["at"] - ms(first_deadline) < 100
    assert 0 <= closed["at"] - ms(second_deadline) < 100
    closed_part = part(page, "zero", "closed")
    assert closed_part.inner_text() == "Entries closed See the shortlist"
    assert closed_part.locator("a").get_attribute("href") == "https://example.com/shortlist"
    assert part(page, "zero", "clock").is_hidden()
    assert len(api_calls) == 3  # the page load and once after each zero crossing
    # Screen readers heard the phase change and the closing, never the seconds ticking.
    assert page.evaluate("window.announced") == ["Final deadline: 3 seconds left", "Entries closed"]
    assert part(page, "zero", "live").get_attribute("aria-live") == "polite"
    assert part(page, "zero", "clock").get_attribute("role") == "timer"


def test_several_countdowns_on_one_page_by_slug_and_from_an_object(
    launch_browser, live_server, server_clock
):
    soon = WHOLE + dt.timedelta(hours=1, minutes=59, seconds=30)
    later = WHOLE + dt.timedelta(days=10)
    countdown_with_phases(("Early bird", soon), slug="first")
    countdown_with_phases(("Deadline", later), slug="second")
    browser = launch_browser()
    # The object as the ads API embeds it, fetched just before the page (over HTTP: no ORM
    # while Playwright runs).
    with urllib.request.urlopen(f"{live_server.url}/api/v1/countdowns/second/") as answer:
        embedded = json.load(answer)
    page, api_calls = open_page(
        browser,
        live_server,
        '<div data-countdown-slug="first"></div>'
        '<div data-countdown-slug="first" id="again"></div>'
        '<div id="from-ads"></div>'
        f"<script>window.embedded = {json.dumps(embedded)};</script>",
        device_time=NOW - HOUR,
    )
    # As a front end would with the countdown object of a creative from the ads API:
    page.evaluate(
        "() => SponsorsCountdown.mount("
        "document.getElementById('from-ads'), {data: window.embedded})"
    )
    page.wait_for_function(
        "() => document.querySelectorAll('[data-countdown-state=open]').length === 3",
        timeout=WAIT_MS,
    )
    first = page.locator(
        '[data-countdown-slug="first"] [data-countdown-part=clock]'
    ).all_inner_texts()
    assert first == ["0d 1h 59min 30sec", "0d 1h 59min 30sec"]  # 1h 59min 29.5s, rounded up
    from_ads = page.locator("#from-ads [data-countdown-part=clock]").inner_text()
    assert from_ads == "10d 0h 0min 0sec"
    assert page.locator("#from-ads [data-countdown-part=label]").inner_text() == "Deadline"
    # Two elements with one slug share one request; the embedded one needed none.
    assert [u for u in api_calls if u.endswith("/first/")] == [
        f"{live_server.url}/api/v1/countdowns/first/"
    ]
    assert not [u for u in api_calls if u.endswith("/second/")]


def test_an_unknown_slug_leaves_the_placeholder(launch_browser, live_server):
    page, _ = open_page(launch_browser(), live_server, '<div data-countdown-slug="missing"></div>')
    page.wait_for_function(
        "() => document.querySelector('[data-countdown-state=error]')", timeout=WAIT_MS
    )
    assert part(page, "missing", "clock").inner_text() == "-d -h -min -sec"


def test_on_a_bare_page_the_snippet_reads_as_separate_words(
    launch_browser, live_server, server_clock
):
    # The README's copy-paste snippet, on a page with no stylesheet of its own.
    deadline = WHOLE + dt.timedelta(days=6, hours=5, minutes=59, seconds=50)
    countdown_with_phases(
        ("Extended deadline", deadline),
        slug="lantern-awards-for-marketing",
        title="The Lantern Awards for Marketing",
    )
    countdown_with_phases(
        ("Deadline", WHOLE - HOUR), slug="over", title="The Lantern Awards", closed_message=""
    )
    page, _ = open_page(
        launch_browser(),
        live_server,
        '<div class="promo-strip">'
        '<div data-countdown-slug="lantern-awards-for-marketing"></div></div>'
        '<div data-countdown-slug="lantern-awards-for-marketing" id="plain"'
        ' data-countdown-style="none"></div>'
        '<div data-countdown-slug="over" id="over"></div>',
        device_time=NOW,
    )
    page.wait_for_function(
        "() => document.querySelectorAll('[data-countdown-state=open]').length === 2"
        " && document.querySelector('[data-countdown-state=closed]')",
        timeout=WAIT_MS,
    )
    widget = page.locator(".promo-strip [data-countdown-slug]")
    expected = "The Lantern Awards for Marketing \u2014 Extended deadline: 6d 5h 59min 50sec"
    assert widget.inner_text() == expected  # what the page shows, not one run-on word
    assert widget.evaluate("el => el.textContent") == expected  # what a copy or a crawler gets
    # The separators are their own nodes: the parts keep exactly their own words.
    assert part(page, "lantern-awards-for-marketing", "label").first.inner_text() == (
        "Extended deadline"
    )
    # A closed countdown with no closed message shows its title alone, no dangling dash.
    assert page.locator("#over").inner_text() == "The Lantern Awards"
    # The built-in style is injected once for all widgets on the page ...
    assert page.locator("style[data-countdown-default-style]").count() == 1
    clock_weight = (
        "el => getComputedStyle(el.querySelector('[data-countdown-part=clock]')).fontWeight"
    )
    assert widget.evaluate(clock_weight) == "700"
    # ... switched off by data-countdown-style="none" (the words still separate) ...
    plain = page.locator("#plain")
    assert plain.evaluate(clock_weight) == "400"
    assert plain.inner_text() == expected
    keep = os.environ.get("E2E_SCREENSHOT_DIR")
    if keep:
        page.screenshot(path=str(Path(keep) / "countdown-bare-page.png"))
    # ... and any rule of the site wins over it, however weak its selector.
    page.add_style_tag(content="[data-countdown-part] { font-weight: 300 }")
    assert widget.evaluate(clock_weight) == "300"
