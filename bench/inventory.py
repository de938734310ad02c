"""A realistic ad inventory for the benchmark, built through the product's own models.

3 slots (site-wide strip, leaderboard, article sidebar), 200 live creatives over 40
campaigns in three tiers; 40% of creatives target 1-2 of 20 topics, 15% exclude one; half of
the campaigns have a frequency cap, a third an impression goal (most with even pacing).
The same generator makes the 10 ... 10,000-creative slots of the scaling measurement.
"""

from __future__ import annotations

import datetime as dt
import random

from django.db import connection, transaction
from django.utils import timezone

from cms.demo import demo_image
from cms.models import Article, ArticleTopic, Author, Topic
from sponsors.models import (
    ArticleReadCounter,
    Campaign,
    Creative,
    DailyDeliveryCounter,
    DailyUncountedCounter,
    DeliveryCounter,
    FlushedBatch,
    Slot,
    Sponsor,
    TrackingReceipt,
    UncountedCounter,
)

TOPICS = [f"bench-topic-{n:02d}" for n in range(1, 21)]
PAGE_SLOTS = ["sitewide-strip", "leaderboard", "article-sidebar"]


def _topics() -> list[Topic]:
    topics = []
    for slug in TOPICS:
        topic, _ = Topic.objects.get_or_create(slug=slug, defaults={"name": slug.title()})
        topics.append(topic)
    return topics


def _template(campaign: Campaign, size: tuple[int, int]) -> Creative:
    """One image creative saved the normal way (file, renditions); others share its files."""
    creative = Creative(
        campaign=campaign,
        name=f"Template {size[0]}x{size[1]}",
        kind=Creative.Kind.IMAGE,
        alt_text="Benchmark banner",
        click_url="https://advertiser.example.com/template",
    )
    creative.image.save(f"bench-{size[0]}x{size[1]}.jpg", demo_image("Bench", size), save=False)
    creative.save()
    return creative


def _campaigns(sponsor: Sponsor, count: int, rng: random.Random, prefix: str) -> list[Campaign]:
    now = timezone.now()
    campaigns = []
    for n in range(count):
        tier = (
            Campaign.Tier.SPONSORSHIP
            if n % 10 == 0
            else (Campaign.Tier.HOUSE if n % 7 == 6 else Campaign.Tier.STANDARD)
        )
        goal = pacing = None
        if n % 3 == 0 and tier != Campaign.Tier.HOUSE:
            goal = rng.choice([5_000_000, 10_000_000, 50_000_000])
            pacing = Campaign.Pacing.EVEN if n % 2 == 0 else Campaign.Pacing.ASAP
        cap = rng.choice([2, 3, 5]) if n % 2 == 0 else None
        campaigns.append(
            Campaign(
                sponsor=sponsor,
                name=f"{prefix} campaign {n}",
                starts_at=now - dt.timedelta(days=rng.randint(1, 10)),
                ends_at=now + dt.timedelta(days=rng.randint(5, 30)),
                tier=tier,
                impression_goal=goal,
                pacing=pacing or Campaign.Pacing.ASAP,
                frequency_cap=cap,
                frequency_period=rng.choice([Campaign.CapPeriod.HOUR, Campaign.CapPeriod.DAY]),
            )
        )
    return Campaign.objects.bulk_create(campaigns)


def add_creatives(
    *,
    slot: Slot,
    count: int,
    campaigns: list[Campaign],
    templates: dict[tuple[int, int], Creative],
    topics: list[Topic],
    rng: random.Random,
    prefix: str,
) -> list[Creative]:
    """``count`` live creatives in ``slot`` with the benchmark's targeting mix (bulk insert)."""
    creatives = []
    for n in range(count):
        campaign = campaigns[n % len(campaigns)]
        text = slot.accepts_text and (not slot.accepts_image or n % 2 == 0)
        fields = {
            "campaign": campaign,
            "name": f"{prefix} {slot.key} {n}",
            "weight": rng.randint(1, 10),
            "click_url": f"https://advertiser{n % 50}.example.com/landing/{n}?utm_source=bench",
        }
        if text:
            fields.update(
                kind=Creative.Kind.TEXT,
                headline=f"Offer number {n}",
                body="A short line about the offer.",
                cta_label="Find out more",
            )
        else:
            template = templates[(slot.width, slot.height)]  # type: ignore[index]  # image slots here are sized
            fields.update(
                kind=Creative.Kind.IMAGE,
                image=template.image.name,
                image_width=template.image_width,
                image_height=template.image_height,
                image_renditions=template.image_renditions,
                alt_text=f"Banner {n}",
            )
        creatives.append(Creative(**fields))
    creatives = Creative.objects.bulk_create(creatives, batch_size=1000)
    slot_links, include_links, exclude_links = [], [], []
    for creative in creatives:
        slot_links.append(Creative.slots.through(creative_id=creative.pk, slot_id=slot.pk))
        roll = rng.random()
        if roll < 0.40:
            for topic in rng.sample(topics, rng.choice([1, 2])):
                include_links.append(
                    Creative.include_topics.through(creative_id=creative.pk, topic_id=topic.pk)
                )
        elif roll < 0.55:
            exclude_links.append(
                Creative.exclude_topics.through(
                    creative_id=creative.pk, topic_id=rng.choice(topics).pk
                )
            )
    Creative.slots.through.objects.bulk_create(slot_links, batch_size=2000)
    Creative.include_topics.through.objects.bulk_create(include_links, batch_size=2000)
    Creative.exclude_topics.through.objects.bulk_create(exclude_links, batch_size=2000)
    return creatives


@transaction.atomic
def reset_and_load(*, creatives: int = 200, seed: int = 2026) -> dict:
    """Empty the ad tables and load the benchmark inventory; return a summary."""
    rng = random.Random(seed)
    for model in (
        DeliveryCounter,
        DailyDeliveryCounter,
        UncountedCounter,
        DailyUncountedCounter,
        FlushedBatch,
        TrackingReceipt,
    ):
        model.objects.all().delete()
    Slot.objects.update(house_creative=None)
    Creative.objects.all().delete()
    Campaign.objects.all().delete()
    Slot.objects.all().delete()
    topics = _topics()
    sponsor, _ = Sponsor.objects.get_or_create(slug="bench-sponsor", defaults={"name": "Bench"})
    slots = {
        "sitewide-strip": Slot.objects.create(
            key="sitewide-strip", name="Strip", accepts_image=False, accepts_text=True
        ),
        "leaderboard": Slot.objects.create(
            key="leaderboard", name="Leaderboard", width=728, height=90, accepts_text=False
        ),
        "article-sidebar": Slot.objects.create(
            key="article-sidebar", name="Sidebar", width=300, height=250, accepts_text=True
        ),
    }
    campaigns = _campaigns(sponsor, 40, rng, "Bench")
    house = Campaign.objects.create(
        sponsor=sponsor,
        name="Bench house",
        starts_at=timezone.now() - dt.timedelta(days=30),
        tier=Campaign.Tier.HOUSE,
    )
    templates = {size: _template(house, size) for size in ((728, 90), (300, 250))}
    shares = {"sitewide-strip": 0.3, "leaderboard": 0.35, "article-sidebar": 0.35}
    made = 0
    for index, (key, share) in enumerate(shares.items()):
        n = creatives - made if index == len(shares) - 1 else round(creatives * share)
        add_creatives(
            slot=slots[key],
            count=n,
            campaigns=campaigns,
            templates=templates,
            topics=topics,
            rng=rng,
            prefix="Bench",
        )
        made += n
    house_text = Creative.objects.create(
        campaign=house,
        name="House text",
        kind=Creative.Kind.TEXT,
        headline="Get the daily briefing",
        cta_label="Sign up",
        click_url="https://news.example.com/newsletter",
    )
    slots["sitewide-strip"].house_creative = house_text
    slots["article-sidebar"].house_creative = house_text
    slots["leaderboard"].house_creative = templates[(728, 90)]
    for slot in slots.values():
        slot.save()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {
        "slots": len(slots),
        "live_creatives": Creative.objects.live().filter(slots__isnull=False).count(),
        "campaigns": Campaign.objects.count(),
    }


def page_contexts(rng: random.Random, count: int = 64) -> list[tuple[str, ...]]:
    """Topic sets of pages: 1 to 3 of the 20 benchmark topics."""
    return [tuple(rng.sample(TOPICS, rng.choice([1, 2, 3]))) for _ in range(count)]


def load_articles(*, count: int = 60, seed: int = 2026) -> list[Article]:
    """Live benchmark articles (1-2 of the benchmark topics each) with a week of reads, so
    trending ranks something; return them."""
    rng = random.Random(seed)
    ArticleReadCounter.objects.all().delete()
    Article.objects.filter(slug__startswith="bench-article-").delete()
    author, _ = Author.objects.get_or_create(slug="bench-author", defaults={"name": "Bench"})
    topics = _topics()
    now = timezone.now()
    articles = []
    for n in range(count):
        article = Article.objects.create(
            headline=f"Bench article {n}",
            slug=f"bench-article-{n}",
            standfirst="A benchmark article.",
            author=author,
            status=Article.Status.PUBLISHED,
            published_at=now - dt.timedelta(days=8, hours=n),
        )
        for position, topic in enumerate(rng.sample(topics, rng.choice([1, 2]))):
            ArticleTopic.objects.create(article=article, topic=topic, position=position)
        articles.append(article)
    hour = now.replace(minute=0, second=0, microsecond=0)
    ArticleReadCounter.objects.bulk_create(
        ArticleReadCounter(
            hour=hour - dt.timedelta(hours=h), article=article, reads=rng.randrange(1, 50)
        )
        for article in articles
        for h in range(0, 7 * 24, 6)
    )
    return articles
