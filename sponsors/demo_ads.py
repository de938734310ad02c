"""Demo ad inventory: the three slots of the article page and creatives that fill them.

For the demo article (topics Microsoft, TikTok, Technology) the page serves a promo strip
in ``sitewide-strip``, an image in ``leaderboard`` and a creative in ``article-sidebar``;
other creatives show the rules at work in the admin's slot preview (a leaderboard aimed at
another topic, a paused one, a scheduled one), and house creatives fill in when nothing
else qualifies. Every object is looked up by a stable name first, so loading twice changes
nothing.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from cms import signin
from cms.demo import demo_image
from cms.models import Topic
from sponsors.models import Campaign, Countdown, Creative, Slot, Sponsor

SLOTS = [
    # key, name, width, height, accepts image, accepts text
    ("sitewide-strip", "Site-wide promo strip", None, None, False, True),
    ("leaderboard", "Leaderboard (top of page)", 728, 90, True, False),
    ("article-sidebar", "Article sidebar", 300, 250, True, True),
]


def _sponsor(slug: str, name: str, website: str, description: str) -> Sponsor:
    sponsor, _ = Sponsor.objects.get_or_create(
        slug=slug, defaults={"name": name, "website_url": website, "description": description}
    )
    return sponsor


def _campaign(name: str, sponsor: Sponsor, **fields) -> Campaign:
    campaign = Campaign.objects.filter(name=name).first()
    if campaign is None:
        campaign = Campaign.objects.create(name=name, sponsor=sponsor, **fields)
    return campaign


def _creative(
    campaign: Campaign,
    name: str,
    *,
    slots: list[Slot],
    include: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
    image: tuple[str, tuple[int, int], tuple] | None = None,
    **fields,
) -> Creative:
    creative = Creative.objects.filter(campaign=campaign, name=name).first()
    if creative is None:
        creative = Creative(campaign=campaign, name=name, **fields)
        if image is not None:
            label, size, colors = image
            creative.image.save(
                f"{campaign.pk}-{size[0]}x{size[1]}.jpg",
                demo_image(label, size, colors),
                save=False,
            )
        creative.full_clean()
        creative.save()
        creative.slots.set(slots)
        creative.include_topics.set(Topic.objects.filter(slug__in=include))
        creative.exclude_topics.set(Topic.objects.filter(slug__in=exclude))
    return creative


@transaction.atomic
def load(*, admin_password: str) -> list[str]:
    """Create or refresh the demo ad inventory; return a summary."""
    now = timezone.now()
    slots = {}
    for key, name, width, height, accepts_image, accepts_text in SLOTS:
        slots[key], _ = Slot.objects.get_or_create(
            key=key,
            defaults={
                "name": name,
                "width": width,
                "height": height,
                "accepts_image": accepts_image,
                "accepts_text": accepts_text,
            },
        )
    strip, leaderboard, sidebar = (
        slots["sitewide-strip"],
        slots["leaderboard"],
        slots["article-sidebar"],
    )

    awards = _sponsor(
        "lantern-awards",
        "The Lantern Awards",
        "https://awards.example.com/",
        "Annual awards for the year's best marketing work.",
    )
    cloud = _sponsor(
        "contoso-cloud",
        "Contoso Cloud",
        "https://cloud.example.com/",
        "Cloud hosting for media and advertising platforms.",
    )
    studio = _sponsor(
        "fabrikam-studio",
        "Fabrikam Creator Studio",
        "https://studio.example.com/",
        "Editing tools for short-video creators and brands.",
    )
    house = _sponsor(
        "the-publisher",
        "The Publisher (house ads)",
        "https://news.example.com/",
        "Our own promotions.",
    )

    awards_campaign = _campaign(
        "Awards 2026: extended deadline",
        awards,
        starts_at=now - dt.timedelta(days=10),
        ends_at=now + dt.timedelta(days=20),
        tier=Campaign.Tier.SPONSORSHIP,
    )
    _creative(
        awards_campaign,
        "Promo strip: entries extended",
        kind=Creative.Kind.TEXT,
        headline="The Lantern Awards for Marketing",
        body="There is still time to enter this year's work.",
        cta_label="Enter now",
        click_url="https://awards.example.com/enter?utm_source=strip",
        # The site-wide strip counts down to the awards' deadline (sponsors/demo_countdowns)
        # and stops serving when entries close.
        countdown=Countdown.objects.filter(slug="lantern-awards-for-marketing").first(),
        slots=[strip],
    )

    cloud_campaign = _campaign(
        "Contoso Cloud: media platforms",
        cloud,
        starts_at=now - dt.timedelta(days=3),
        ends_at=now + dt.timedelta(days=27),
        tier=Campaign.Tier.STANDARD,
        impression_goal=300_000,
        pacing=Campaign.Pacing.EVEN,
        frequency_cap=5,
        frequency_period=Campaign.CapPeriod.DAY,
    )
    _creative(
        cloud_campaign,
        "Leaderboard: cloud for newsrooms",
        kind=Creative.Kind.IMAGE,
        image=("Contoso Cloud: built for media", (728, 90), ((10, 60, 140), (40, 160, 220))),
        alt_text="Contoso Cloud: hosting built for media platforms",
        click_url="https://cloud.example.com/media?utm_source=leaderboard",
        weight=3,
        include=("microsoft", "technology"),
        slots=[leaderboard],
    )
    _creative(
        cloud_campaign,
        "Leaderboard: ad-tech credits",
        kind=Creative.Kind.IMAGE,
        image=("Credits for ad-tech start-ups", (728, 90), ((30, 30, 30), (90, 140, 200))),
        alt_text="Contoso Cloud credits for advertising start-ups",
        click_url="https://cloud.example.com/startups?utm_source=leaderboard",
        include=("advertising",),
        slots=[leaderboard],
    )

    studio_campaign = _campaign(
        "Fabrikam Studio: creators",
        studio,
        starts_at=now - dt.timedelta(days=1),
        ends_at=now + dt.timedelta(days=13),
        tier=Campaign.Tier.STANDARD,
        impression_goal=40_000,
        frequency_cap=3,
        frequency_period=Campaign.CapPeriod.HOUR,
    )
    _creative(
        studio_campaign,
        "Sidebar: edit on your phone",
        kind=Creative.Kind.IMAGE,
        image=("Fabrikam Studio", (300, 250), ((120, 20, 80), (240, 120, 60))),
        alt_text="Fabrikam Creator Studio: edit short video on your phone",
        click_url="https://studio.example.com/?utm_source=sidebar",
        include=("tiktok", "social-media"),
        slots=[sidebar],
    )
    _creative(
        studio_campaign,
        "Sidebar: brand safety (paused)",
        kind=Creative.Kind.TEXT,
        headline="Brand-safe creator campaigns",
        body="Work with vetted creators.",
        cta_label="Learn more",
        click_url="https://studio.example.com/brands",
        slots=[sidebar],
        is_active=False,
    )
    launch = _campaign(
        "Fabrikam Studio: next launch",
        studio,
        starts_at=now + dt.timedelta(days=5),
        ends_at=now + dt.timedelta(days=35),
        tier=Campaign.Tier.SPONSORSHIP,
    )
    _creative(
        launch,
        "Sidebar: launch teaser (scheduled)",
        kind=Creative.Kind.TEXT,
        headline="Something new for creators",
        body="Coming soon.",
        cta_label="Get notified",
        click_url="https://studio.example.com/launch",
        slots=[sidebar],
    )

    house_campaign = _campaign(
        "House: newsletter and events",
        house,
        starts_at=now - dt.timedelta(days=365),
        ends_at=None,
        tier=Campaign.Tier.HOUSE,
    )
    house_text = _creative(
        house_campaign,
        "House: daily briefing",
        kind=Creative.Kind.TEXT,
        headline="Get the daily marketing briefing",
        body="The day's stories in your inbox every morning.",
        cta_label="Sign up",
        click_url="https://news.example.com/newsletter",
        slots=[],
    )
    house_image = _creative(
        house_campaign,
        "House: leaderboard newsletter",
        kind=Creative.Kind.IMAGE,
        image=("Get the daily briefing", (728, 90), ((20, 20, 20), (200, 40, 90))),
        alt_text="Sign up for the daily marketing briefing",
        click_url="https://news.example.com/newsletter",
        slots=[],
    )
    for slot, creative in ((strip, house_text), (sidebar, house_text), (leaderboard, house_image)):
        if slot.house_creative_id is None:
            slot.house_creative = creative
            slot.full_clean()
            slot.save()
    token = _ad_ops_login(admin_password)
    return [
        f"{Slot.objects.count()} ad slots, {Campaign.objects.live().count()} live campaigns, "
        f"{Creative.objects.live().count()} live creatives. "
        "Try /api/v1/ads/?slots=sitewide-strip,leaderboard,article-sidebar"
        "&topics=microsoft,tiktok,technology",
        f"Ad-ops login: adops / {admin_password} (Ad ops group); staff API token: "
        f"{token.key} (try /api/v1/ad-ops/reports/delivery/ with "
        f'"Authorization: Token {token.key}")',
    ]


def _ad_ops_login(password: str) -> Token:
    """A staff login in the "Ad ops" group, with a token for the staff API."""
    user, _ = User.objects.get_or_create(username="adops", defaults={"email": "adops@example.com"})
    user.is_staff = True
    user.is_superuser = False
    user.set_password(password)
    user.save()
    # Exactly this role, also when the demo runs again over an account changed by hand.
    user.groups.set([Group.objects.get(name="Ad ops")])
    user.user_permissions.clear()
    signin.sign_in_reset(user)  # the printed login works: no device, no lockout
    token, _ = Token.objects.get_or_create(user=user)
    return token
