"""Ad-ops admin pages at 1,400 px in a real browser (Debian's Chromium): the slot preview, the
creatives list, a countdown with its deadline phases and the campaign page fit the window
without a sideways scroll.

Set ``E2E_SCREENSHOT_DIR`` to keep a PNG of each page there.
"""

import datetime as dt
import os
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from django.views.static import serve

from cms import urls
from sponsors.models import Campaign, DeliveryCounter
from tests.cms.factories import ArticleFactory, TopicFactory
from tests.e2e.browser import NEEDS_CHROMIUM
from tests.sponsors.factories import SponsorFactory
from tests.sponsors.factories_ads import (
    CampaignFactory,
    CreativeFactory,
    ImageCreativeFactory,
    SlotFactory,
)
from tests.sponsors.factories_countdowns import countdown_with_phases

WIDTH, HEIGHT = 1400, 900
WAIT_MS = 30_000

# Boxes that scroll sideways inside the page (a changelist's results, an inline's table):
# overflowing, even though the window itself does not scroll.
SIDEWAYS_SCROLLERS = """
() => [...document.querySelectorAll("body *")]
  .filter((el) => ["auto", "scroll"].includes(getComputedStyle(el).overflowX))
  .filter((el) => el.scrollWidth > el.clientWidth + 1)
  .map((el) => [el.tagName.toLowerCase(), el.id, el.className, el.scrollWidth, el.clientWidth])
"""

pytestmark = NEEDS_CHROMIUM


@pytest.fixture(autouse=True)
def served_media(media_root, monkeypatch):
    """The live server serves this test's uploads: the media route read MEDIA_ROOT at import,
    and every test has its own (see tests/conftest.py)."""
    for pattern in urls.urlpatterns:
        if getattr(pattern, "callback", None) is serve:
            monkeypatch.setitem(pattern.default_args, "document_root", media_root)


def ad_ops_pages() -> dict[str, str]:
    """What ad-ops look at all day, filled with long names, as URL paths by page name."""
    now = timezone.now()
    tiktok = TopicFactory(name="TikTok")
    microsoft = TopicFactory(name="Microsoft")
    sponsor = SponsorFactory(name="Northwind Marketing Technology Partners International")
    leaderboard = SlotFactory(key="leaderboard", name="Leaderboard", width=728, height=90)
    sidebar = SlotFactory(key="article-sidebar", name="Article sidebar", width=300, height=250)
    strip = SlotFactory(key="sitewide-strip", name="Sitewide strip", accepts_image=False)
    campaign = CampaignFactory(
        sponsor=sponsor,
        name="The Lantern Awards for Marketing 2026 — Asia Pacific early-bird entries push",
        starts_at=now - dt.timedelta(days=10),
        ends_at=now + dt.timedelta(days=20),
        impression_goal=300_000,
        frequency_cap=3,
    )
    banner = ImageCreativeFactory(
        campaign=campaign,
        name="Lantern Awards leaderboard banner with the extended deadline message",
        slots=[leaderboard],
        include=[tiktok, microsoft],
    )
    ImageCreativeFactory(
        campaign=campaign,
        name="Lantern Awards medium rectangle for article sidebars",
        size=(300, 250),
        slots=[sidebar],
        exclude=[microsoft],
    )
    countdown = countdown_with_phases(
        ("Early bird", now + dt.timedelta(days=2)),
        ("Deadline", now + dt.timedelta(days=9)),
        ("Extended deadline for late entries", now + dt.timedelta(days=16)),
        title="The Lantern Awards for Marketing — entries close",
    )
    CreativeFactory(
        campaign=campaign,
        name="Sitewide promo strip: enter the Lantern Awards before the deadline",
        headline="The Lantern Awards for Marketing — Extended Deadline",
        body="Entries are open for one more week: tell the jury about your best work of 2026.",
        cta_label="Enter now",
        countdown=countdown,
        slots=[strip, sidebar],
    )
    CreativeFactory(
        campaign=CampaignFactory(name="House promotions", tier=Campaign.Tier.HOUSE, ends_at=None),
        name="House strip: subscribe to the daily newsletter",
        slots=[strip, sidebar],
    )
    for day in range(10):
        DeliveryCounter.objects.create(
            hour=now - dt.timedelta(days=day, hours=1),
            creative=banner,
            slot=leaderboard,
            impressions=7_000 + 500 * day,
            clicks=40 + day,
        )
    article = ArticleFactory(
        headline="What is happening at TikTok? Its marketing chief on the year ahead",
        topics=[tiktok, microsoft],
    )
    return {
        "slot-preview": f"/admin/sponsors/slot/preview/?slot={sidebar.pk}&article={article.pk}",
        "creatives": "/admin/sponsors/creative/",
        "countdown": f"/admin/sponsors/countdown/{countdown.pk}/change/",
        "campaign": f"/admin/sponsors/campaign/{campaign.pk}/change/",
    }


def test_ad_ops_pages_fit_a_1400_px_window(launch_browser, live_server):
    User.objects.create_superuser("boss", password="pw")
    pages = ad_ops_pages()
    browser = launch_browser()
    page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/", timeout=WAIT_MS)
    keep = os.environ.get("E2E_SCREENSHOT_DIR")
    too_wide = {}
    for name, path in pages.items():
        page.goto(f"{live_server.url}{path}", wait_until="load", timeout=WAIT_MS)
        assert page.locator("#content").count() == 1, name
        if name == "campaign":  # its chart is drawn
            page.wait_for_function(
                "() => window.Chart && Chart.getChart("
                "document.querySelector('canvas[data-delivery-chart]'))",
                timeout=WAIT_MS,
            )
        if name == "slot-preview":  # the article search is the admin's autocomplete
            assert page.locator(".field-article .select2-container").count() == 1
            assert page.locator("td.thumbnail img").count() == 1
        width = page.evaluate("document.documentElement.scrollWidth")
        scrollers = page.evaluate(SIDEWAYS_SCROLLERS)
        if width > WIDTH or scrollers:
            too_wide[name] = (width, scrollers)
        if keep:
            page.screenshot(path=str(Path(keep) / f"{name}.png"), full_page=True)
    assert too_wide == {}, f"wider than the {WIDTH} px window (page width, scrollers): {too_wide}"
