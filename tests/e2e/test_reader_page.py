"""The reader's article page in a real browser (Debian's Chromium) against a live server:
the promo strip's countdown ticks and closes, a banner's click lands on its stored URL and
counts once, an impression counts when its slot scrolls into view and not before, a page
view counts one read, and the page holds its layout when ad serving fails.

Database work runs before the browser starts, or afterwards in a thread of its own
(``in_thread``): Playwright's sync API runs the test in a greenlet where Django would open a
connection nobody closes. A failing step saves a screenshot (its path is in the message).
"""

import contextlib
import datetime as dt
import io
import threading
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connections
from django.db.models import Sum
from django.utils import timezone

from cms.models import ArticleBlock
from sponsors.countdowns import countdown_extend
from sponsors.models import ArticleReadCounter, DeliveryCounter
from tests.cms.factories import ArticleFactory, BlockFactory, TopicFactory
from tests.e2e.browser import NEEDS_CHROMIUM, screenshot_on_failure
from tests.images import image_bytes
from tests.sponsors.factories import SponsorFactory
from tests.sponsors.factories_ads import CreativeFactory, ImageCreativeFactory, SlotFactory
from tests.sponsors.factories_countdowns import countdown_with_phases

WAIT_MS = 20_000
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 640}

pytestmark = NEEDS_CHROMIUM


def in_thread(function, *args, **kwargs):
    """``function(*args, **kwargs)`` in a thread of its own, its database connection closed
    after."""
    result: dict = {}

    def run():
        try:
            result["value"] = function(*args, **kwargs)
        except BaseException as error:  # noqa: BLE001  # raised again in the test
            result["error"] = error
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")


def _flushed_counts(model, **filters):
    # Moves the counts pending in Redis to the database (without Redis: nothing to move).
    call_command("ads_flush", stdout=io.StringIO())
    field = "reads" if model is ArticleReadCounter else "impressions"
    return model.objects.filter(**filters).aggregate(n=Sum(field))["n"] or 0


def counted(model, **filters) -> int:
    return in_thread(_flushed_counts, model, **filters)


def _flushed_clicks(creative_id):
    call_command("ads_flush", stdout=io.StringIO())
    rows = DeliveryCounter.objects.filter(creative_id=creative_id)
    return rows.aggregate(n=Sum("clicks"))["n"] or 0


# A reader's browser: headless Chromium says "HeadlessChrome", which is a bot's name, and
# bots are counted apart.
READER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


@pytest.fixture
def reader_page(launch_browser, tmp_path):
    """A Chromium page at ``viewport``; on a failure inside the ``with``, a screenshot."""
    browsers = []

    @contextlib.contextmanager
    def open_page(viewport=DESKTOP):
        if not browsers:
            browsers.append(launch_browser())
        context = browsers[0].new_context(viewport=viewport, user_agent=READER_AGENT)
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        try:
            with screenshot_on_failure(page, tmp_path / "failure.png"):
                yield page
        finally:
            context.close()

    return open_page


@pytest.fixture
def world(seeded, live_server):
    """An article on TikTok with a long body, and the page's three slots filled: the promo
    strip (a text promo counting down to an extended deadline), a leaderboard and a sidebar
    banner. Click-through URLs are pages of the live server itself (no network here)."""
    now = timezone.now()
    tiktok = TopicFactory(name="TikTok", slug="tiktok")
    article = ArticleFactory(headline="Video app turns down a software giant", topics=[tiktok])
    for n in range(14):
        BlockFactory(article=article, position=n, kind=ArticleBlock.Kind.PARAGRAPH, text=f"P{n}")
    strip = SlotFactory(key="sitewide-strip", accepts_image=False)
    leaderboard = SlotFactory(key="leaderboard", width=728, height=90, accepts_text=False)
    sidebar = SlotFactory(key="article-sidebar", width=300, height=250, accepts_text=False)
    countdown = countdown_with_phases(
        ("Deadline", now + dt.timedelta(days=3, hours=4)),
        slug="lantern",
        title="The Lantern Awards for Marketing",
    )
    phase = countdown.phases.get()
    countdown_extend(phase=phase, new_deadline=phase.deadline + dt.timedelta(days=1), reason="x")
    promo = CreativeFactory(
        headline="The Lantern Awards", countdown=countdown, slots=[strip], include=[tiktok]
    )
    landing = f"{live_server.url}/api/v1/health/?landed="
    banner = ImageCreativeFactory(
        click_url=landing + "leaderboard", slots=[leaderboard], alt_text="Leaderboard banner"
    )
    side = ImageCreativeFactory(
        click_url=landing + "sidebar",
        slots=[sidebar],
        size=(300, 250),
        alt_text="Sidebar banner",
    )
    return {
        "url": f"{live_server.url}/articles/{article.slug}/",
        "article": article,
        "promo": promo,
        "banner": banner,
        "sidebar": side,
        "landing": landing,
    }


def test_the_promo_strip_counts_down_to_the_extended_deadline(world, reader_page):
    with reader_page() as page:
        page.goto(world["url"])
        strip = page.locator(".promo-strip")
        clock = strip.locator('[data-countdown-part="clock"]')
        page.wait_for_function(
            "() => /\\d+sec/.test(document.querySelector("
            "'.promo-strip [data-countdown-part=\"clock\"]')?.textContent || '')"
        )
        assert strip.locator('[data-countdown-part="label"]').inner_text() == "Extended deadline"
        first = clock.inner_text()
        assert first.startswith("4d "), first
        page.wait_for_function(
            "(first) => document.querySelector("
            "'.promo-strip [data-countdown-part=\"clock\"]').textContent !== first",
            arg=first,
            timeout=2000,
        )


def test_a_countdown_seconds_from_its_deadline_closes_on_time(seeded, live_server, reader_page):
    now = timezone.now()
    topic = TopicFactory(name="TikTok", slug="tiktok")
    article = ArticleFactory(topics=[topic])
    strip = SlotFactory(key="sitewide-strip", accepts_image=False)
    countdown = countdown_with_phases(
        ("Deadline", now + dt.timedelta(seconds=12)), slug="soon", title="Closing soon"
    )
    CreativeFactory(countdown=countdown, slots=[strip])
    # Stored to the second: the widget closes at the deadline the API gives.
    deadline_ms = countdown.phases.get().deadline.timestamp() * 1000

    with reader_page() as page:
        page.goto(f"{live_server.url}/articles/{article.slug}/")
        closed = page.locator('.promo-strip [data-countdown-part="closed"]')
        page.wait_for_function(
            "() => document.querySelector('.promo-strip [data-countdown-state=\"open\"]')"
        )
        page.wait_for_function(
            "() => document.querySelector('.promo-strip [data-countdown-state=\"closed\"]')",
            timeout=20_000,
        )
        flipped_ms = page.evaluate("Date.now()")
        assert closed.inner_text() == "Entries closed"
        # On time: within a second and a half of the deadline (tick alignment, timers).
        assert -100 <= flipped_ms - deadline_ms <= 1500, flipped_ms - deadline_ms


def test_a_banner_click_lands_on_its_stored_url_and_counts_once(world, reader_page):
    with reader_page() as page:
        page.goto(world["url"])
        link = page.locator('[data-slot="leaderboard"] a')
        href = link.get_attribute("href")
        assert "/api/v1/ads/click/" in href, "the link goes through the signed redirect"
        link.click()
        page.wait_for_url(world["landing"] + "leaderboard")
        assert '"status": "ok"' in page.content() or '"status":"ok"' in page.content()
    assert in_thread(_flushed_clicks, world["banner"].pk) == 1


def test_an_impression_counts_when_its_slot_scrolls_into_view_and_not_before(world, reader_page):
    with reader_page(PHONE) as page:
        page.goto(world["url"])
        slot = page.locator('[data-slot="article-sidebar"]')
        slot.wait_for(state="attached")
        assert not slot.is_visible() or not page.evaluate(
            "(el) => el.getBoundingClientRect().top < innerHeight",
            slot.element_handle(),
        ), "the sidebar starts below the fold on a phone"
        page.wait_for_timeout(1500)
        assert counted(DeliveryCounter, creative=world["sidebar"]) == 0, "not before"
        slot.scroll_into_view_if_needed()
        page.wait_for_timeout(1500)
        assert counted(DeliveryCounter, creative=world["sidebar"]) == 1
        page.mouse.wheel(0, -5000)
        page.wait_for_timeout(300)
        slot.scroll_into_view_if_needed()
        page.wait_for_timeout(1000)
    assert counted(DeliveryCounter, creative=world["sidebar"]) == 1, "once per page view"


def test_one_page_view_counts_one_read(world, reader_page):
    with reader_page() as page:
        page.goto(world["url"])
        page.wait_for_timeout(1500)
        page.mouse.wheel(0, 3000)
        page.wait_for_timeout(1000)
    assert counted(ArticleReadCounter, article=world["article"]) == 1


def test_the_layout_holds_when_ad_serving_fails(world, reader_page, monkeypatch):
    def fails(*args, **kwargs):
        raise RuntimeError("the ad server is down")

    monkeypatch.setattr("cms.api.pages.serve_page", fails)
    for viewport in (DESKTOP, PHONE):
        with reader_page(viewport) as page:
            page.goto(world["url"])
            assert page.locator("h1").inner_text() == world["article"].headline
            assert page.locator("[data-slot] a").count() == 0, "no ad"
            assert page.locator(".ad-slot--empty").count() >= 2
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, "nothing wider than the screen"
            body = page.locator("article.article").bounding_box()
            assert body is not None and body["width"] >= min(300, viewport["width"] - 40)


def _login(page, base, username, password="pw", path="/admin/login/"):
    page.goto(f"{base}{path}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("[type=submit]")
    assert "login" not in page.url, f"{username} is signed in"


def _pick_autocomplete(page, field, text):
    """Choose ``text`` in the admin's autocomplete (select2) widget of ``field``."""
    page.locator(f"#id_{field} + .select2 .select2-selection").click()
    page.locator(".select2-search__field").fill(text)
    page.locator(".select2-results__option", has_text=text).first.click()


def test_ad_ops_create_a_campaign_with_a_banner_and_see_it_served(
    world, reader_page, django_user_model, tmp_path
):

    user = django_user_model.objects.create_user("ops", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Ad ops"))
    SponsorFactory(name="Globex Media", slug="globex")
    banner = tmp_path / "globex.png"
    banner.write_bytes(image_bytes("PNG", size=(728, 90)))
    start = timezone.localtime(timezone.now() - dt.timedelta(hours=1))
    end = start + dt.timedelta(days=14)
    base = world["url"].split("/articles/")[0]

    with reader_page() as page:
        _login(page, base, "ops")
        page.goto(f"{base}/admin/sponsors/campaign/add/")
        page.fill("#id_name", "Globex: autumn launch")
        _pick_autocomplete(page, "sponsor", "Globex")
        page.fill("#id_starts_at_0", start.strftime("%Y-%m-%d"))
        page.fill("#id_starts_at_1", start.strftime("%H:%M:%S"))
        page.fill("#id_ends_at_0", end.strftime("%Y-%m-%d"))
        page.fill("#id_ends_at_1", end.strftime("%H:%M:%S"))
        page.select_option("#id_tier", label="Sponsorship")
        page.locator(".add-row a", has_text="Add another Creative").click()
        page.fill("#id_creatives-0-name", "Globex leaderboard")
        page.select_option("#id_creatives-0-kind", value="image")
        page.set_input_files("#id_creatives-0-image", str(banner))
        page.fill("#id_creatives-0-alt_text", "Globex Media: launch week")
        page.fill("#id_creatives-0-click_url", world["landing"] + "globex")
        page.locator("#creatives-0 label", has_text="Leaderboard").locator("input").check()
        page.click("input[name=_save]")
        page.wait_for_selector("text=was added successfully")

        # Served on the article page once the new inventory snapshot is in (a moment).
        served = page.locator('[data-slot="leaderboard"] img[alt="Globex Media: launch week"]')
        for _ in range(20):
            page.goto(world["url"])
            if served.count():
                break
            page.wait_for_timeout(500)
        assert served.count() == 1, "the new banner serves in the leaderboard"
        assert served.evaluate("(img) => img.complete && img.naturalWidth") == 728


def test_partner_content_goes_through_approval_to_the_page(
    seeded, live_server, reader_page, tmp_path
):
    """A partner submits; an editor approves and schedules it; the `at` preview shows it
    live at that time; it appears on the page once the clock passes its go-live."""
    call_command("load_demo_data", "--admin-password", "pw", stdout=io.StringIO())
    from cms.demo import FEATURE_SLUG

    base = live_server.url
    headline = "Sound-on creative that holds attention for longer"
    with reader_page() as page:
        _login(page, base, "partner", path="/partners/login/")
        page.goto(f"{base}/partners/submit/")
        page.fill("#id_headline", headline)
        page.fill("#id_standfirst", "What a season of audio-first campaigns showed.")
        page.fill("#id_body_text", "First paragraph.\n\nSecond paragraph.")
        page.click("input[value='Send for review']")
        page.wait_for_selector("text=Thank you")

        page.context.clear_cookies()
        _login(page, base, "editor")
        page.goto(f"{base}/admin/cms/submission/")
        page.get_by_role("link", name=headline).click()
        page.get_by_role("link", name="Approve…").click()
        page.click("input[value='Approve and create the draft']")
        page.wait_for_selector("text=Edit and schedule it here")  # on the draft article
        go_live = timezone.localtime(timezone.now() + dt.timedelta(seconds=20))
        page.select_option("#id_status", value="scheduled")
        page.fill("#id_published_at_0", go_live.strftime("%Y-%m-%d"))
        page.fill("#id_published_at_1", go_live.strftime("%H:%M:%S"))
        page.click("input[name=_continue]")
        page.wait_for_selector("text=was changed successfully")

        # The admin's preview: the reference page at its go-live, ads and promo strip too.
        page.goto(base + page.get_by_role("link", name="Preview").get_attribute("href"))
        assert page.locator("h1").inner_text() == headline
        assert "nothing is counted" in page.locator(".preview-banner").inner_text()
        assert "Content created with" in page.content()
        assert page.locator(".promo-strip").count() == 1
        assert page.locator("article.article").get_attribute("data-read-url") == ""

        article_url = f"{base}/articles/{FEATURE_SLUG}/"
        insights = page.get_by_role("region", name="Industry insights")
        page.goto(article_url)
        assert headline not in insights.inner_text(), "not live yet"
        page.goto(f"{article_url}?{urlencode({'at': go_live.isoformat()})}")
        assert headline in insights.inner_text(), "the preview at go-live shows it"
        assert "nothing is counted" in page.content()

        page.context.clear_cookies()  # a reader now
        wait = (go_live - timezone.now()).total_seconds() + 1
        page.wait_for_timeout(max(0, wait) * 1000)
        page.goto(article_url)
        assert headline in insights.inner_text(), "live once the clock passes go-live"
