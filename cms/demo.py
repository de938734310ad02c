"""Demo content: one feature article shaped like the seed page, and a dozen more.

All text is written for the demo. Every object is looked up by slug before it is created, so
loading twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import io

from django.contrib.auth.models import Group, User
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw

from cms import history, signin
from cms.models import Article, ArticleBlock, ArticleTopic, Author, Topic

TOPICS = ["Microsoft", "TikTok", "Technology", "Social Media", "Advertising", "Brand Strategy"]

FEATURE_SLUG = "video-app-turns-down-software-giant-as-cloud-deal-talk-grows"

FEATURE_BLOCKS = [
    (
        "paragraph",
        "The software giant confirmed on Sunday that its bid for the short-video "
        "app's American business is off, and by Monday morning the industry's attention had "
        "turned to a rival cloud provider said to be negotiating a technology tie-up instead.",
    ),
    (
        "quote",
        "Walking away was the only way to keep our own security standards intact.",
        "A spokesperson for the software company",
    ),
    (
        "image",
        "Analysts expect advertisers to hold spending steady while the talks continue.",
        "A phone showing a vertical video feed on a desk beside a laptop",
    ),
    (
        "paragraph",
        "Nothing has been signed. The app's parent company is reported to have told "
        "state broadcasters that it will not hand over the recommendation code that powers its "
        "feed, which any buyer would have needed to run the service on its own.",
    ),
    (
        "paragraph",
        "People close to the talks describe the new arrangement as a restructuring "
        "rather than a sale, with the cloud provider hosting American user data and auditing "
        "how it is handled. Neither company has commented.",
    ),
    (
        "paragraph",
        "Executives at the software company had argued for weeks that only a full purchase "
        "would satisfy officials in Washington. Their final offer, according to two people "
        "familiar with it, included commitments on content moderation, independent audits "
        "and a new data centre built solely for American accounts.",
    ),
    (
        "paragraph",
        "Those commitments were not enough to bridge the gap on the algorithm. Engineers who "
        "have worked on similar systems say a recommendation engine cannot simply be copied "
        "to a new owner: it depends on years of behavioural data, tuning and infrastructure "
        "that would take any buyer a long time to rebuild from scratch.",
    ),
    (
        "paragraph",
        "The cloud provider, by contrast, is understood to be offering something narrower. It "
        "would host the data, check the code that touches it and report to a security "
        "committee, while the parent company keeps ownership of the technology that decides "
        "what each viewer sees next. Critics call that a compromise that satisfies nobody; "
        "supporters say it is the only option both governments might accept.",
    ),
    (
        "paragraph",
        "Media buyers say their clients are watching closely. Short video has become "
        "one of the fastest-growing lines on many brands' plans, and a forced shutdown would "
        "scatter that budget across other platforms overnight.",
    ),
    (
        "paragraph",
        "For agencies, the practical advice has not changed: keep creative assets portable, "
        "spread tests across several short-video platforms and avoid annual commitments until "
        "the ownership question is settled. Several planners said they had already moved part "
        "of next year's budget into flexible lines that can shift quickly if the service goes "
        "dark, and that clients were asking for weekly updates on the talks.",
    ),
    (
        "paragraph",
        "Smaller advertisers have fewer options. A bakery chain that built its following "
        "almost entirely on the app told us it had started posting the same clips on two "
        "other services, but that the audiences there responded far less. Its owner said the "
        "uncertainty was costing more in planning time than any price rise would, and that "
        "she would welcome any agreement, whoever signs it, as long as it arrives soon.",
    ),
    ("heading", "What happens next for the app?"),
    (
        "list",
        "\n".join(
            [
                "Two executive orders restrict American firms from dealing with the app and a "
                "messaging service from the same region.",
                "The orders take effect in weeks, leaving little time for any new agreement to be "
                "approved by regulators.",
                "The company says American data is stored on American servers and that most of its "
                "investors are American.",
                "Other countries have already blocked dozens of apps on national-security grounds, "
                "and officials point to those bans as a model.",
            ]
        ),
    ),
    (
        "paragraph",
        "The app's marketing push continues regardless: it has hired an agency to "
        "grow its creator programme and is running its largest brand campaign to date.",
    ),
    (
        "paragraph",
        "Its chief executive stepped down last month, citing the changed political "
        "climate, and an interim leader now runs the business while the talks go on.",
    ),
]

MORE_ARTICLES = [
    ("Retailers move budget into shoppable short video", ["TikTok", "Advertising"], "news", 1),
    ("Why brand safety tools still miss sarcasm", ["Technology", "Brand Strategy"], "opinion", 2),
    (
        "Cloud providers court ad-tech start-ups with credits",
        ["Microsoft", "Technology"],
        "news",
        3,
    ),
    ("Creators ask platforms for clearer revenue splits", ["TikTok", "Social Media"], "news", 4),
    ("The quiet return of contextual targeting", ["Advertising", "Technology"], "opinion", 5),
    ("Search ads get a conversational makeover", ["Microsoft", "Advertising"], "news", 6),
    (
        "Five lessons from a year of live-stream shopping",
        ["Social Media", "Brand Strategy"],
        "news",
        8,
    ),
    ("Agencies rethink measurement after cookie delays", ["Advertising"], "news", 9),
    ("A gaming platform opens its in-game billboards", ["Microsoft", "Advertising"], "news", 11),
    (
        "Sound-on video changes how brands write scripts",
        ["TikTok", "Brand Strategy"],
        "opinion",
        13,
    ),
    ("Productivity suites add generative design tools", ["Microsoft", "Technology"], "news", 15),
    ("Regional newsrooms test paid community posts", ["Social Media"], "news", 18),
]


def demo_image(text: str, size=(1600, 900), colors=((24, 24, 48), (220, 40, 90))) -> ContentFile:
    """A generated gradient picture with a label, so the demo needs no downloaded images."""
    width, height = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    (r1, g1, b1), (r2, g2, b2) = colors
    for x in range(width):
        t = x / max(1, width - 1)
        draw.line(
            [(x, 0), (x, height)],
            fill=(round(r1 + (r2 - r1) * t), round(g1 + (g2 - g1) * t), round(b1 + (b2 - b1) * t)),
        )
    draw.text((width // 20, height // 2), text, fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return ContentFile(out.getvalue(), name="demo.jpg")


def _topic(name: str) -> Topic:
    topic, _ = Topic.objects.get_or_create(name=name)
    return topic


def _set_topics(article: Article, names: list[str]) -> None:
    # Saved only when missing or moved: an unchanged topic adds no audit history row.
    for position, name in enumerate(names):
        link, created = ArticleTopic.objects.get_or_create(
            article=article, topic=_topic(name), defaults={"position": position}
        )
        if not created and link.position != position:
            link.position = position
            link.save()


def _accounts(password: str) -> None:
    admin, _ = User.objects.get_or_create(username="admin", defaults={"email": "admin@example.com"})
    admin.is_staff = admin.is_superuser = True
    admin.set_password(password)
    admin.save()
    editor, _ = User.objects.get_or_create(
        username="editor", defaults={"email": "editor@example.com"}
    )
    editor.is_staff = True
    editor.is_superuser = False
    editor.set_password(password)
    editor.save()
    # Exactly this role, also when the demo runs again over an account changed by hand.
    editor.groups.set([Group.objects.get(name="Editors")])
    editor.user_permissions.clear()
    for user in (admin, editor):  # the printed logins work: no device, no lockout
        signin.sign_in_reset(user)


@transaction.atomic
def load(*, admin_password: str) -> list[str]:
    """Create or refresh the demo content; return a summary of what is there."""
    now = timezone.now()
    _accounts(admin_password)
    for name in TOPICS:
        _topic(name)
    reporter, _ = Author.objects.get_or_create(
        slug="mei-tan", defaults={"name": "Mei Tan", "role": "Reporter", "region": "Asia Pacific"}
    )
    editor, _ = Author.objects.get_or_create(
        slug="oliver-grant",
        defaults={"name": "Oliver Grant", "role": "Technology Editor", "region": "Europe"},
    )

    feature = Article.objects.filter(slug=FEATURE_SLUG).first()
    if feature is None:
        feature = Article(
            slug=FEATURE_SLUG,
            headline="Video app turns down software giant as talk of a cloud deal grows",
            standfirst="A takeover is off the table, but a hosting partnership may keep the "
            "app running in its biggest market.",
            kind=Article.Kind.NEWS,
            status=Article.Status.PUBLISHED,
            published_at=now - dt.timedelta(hours=3),
            author=reporter,
            hero_caption="The app's American future is still being negotiated.",
            hero_alt="A smartphone on a desk showing a short-video feed",
        )
        feature.hero_image.save("feature-hero.jpg", demo_image("Short video"), save=False)
        with history.one_record(feature):  # the article with its body: one history row
            feature.save()
            for position, spec in enumerate(FEATURE_BLOCKS):
                kind, text, *extra = spec
                block = ArticleBlock(article=feature, position=position, kind=kind)
                if kind == "image":
                    block.caption, block.alt_text = text, extra[0]
                    block.image.save(
                        "feature-inline.jpg", demo_image("Mobile", (1200, 800)), save=False
                    )
                else:
                    block.text = text
                    block.attribution = extra[0] if extra else ""
                block.save()
            _set_topics(feature, ["Microsoft", "TikTok", "Technology"])
    _set_topics(feature, ["Microsoft", "TikTok", "Technology"])

    for index, (headline, topics, kind, days_ago) in enumerate(MORE_ARTICLES):
        article = Article.objects.filter(headline=headline).first()
        if article is None:
            article = Article(
                headline=headline,
                standfirst=f"{headline}: what it means for marketers this quarter.",
                kind=kind,
                status=Article.Status.PUBLISHED,
                published_at=now - dt.timedelta(days=days_ago, hours=index),
                author=editor if index % 2 else reporter,
            )
            with history.one_record(article):
                article.save()
                for position, sentence in enumerate(_filler(headline)):
                    ArticleBlock.objects.create(article=article, position=position, text=sentence)
                _set_topics(article, topics)
        _set_topics(article, topics)

    Article.objects.get_or_create(
        headline="Scheduled: the year in short video",
        defaults={
            "status": Article.Status.SCHEDULED,
            "published_at": now + dt.timedelta(days=2),
            "author": editor,
            "standfirst": "A look back, going live later this week.",
        },
    )
    return [
        f"{Article.objects.live().count()} live articles, "
        f"{Article.objects.scheduled().count()} scheduled, {Topic.objects.count()} topics, "
        f"{Author.objects.count()} authors."
    ]


def _filler(headline: str) -> list[str]:
    subject = headline.lower()
    return [
        f"Marketers have been asking about {subject} for months, and the numbers are now in.",
        "Early adopters report better engagement, though most say measurement is still "
        "harder than it should be and budgets are moving cautiously.",
        "Platform representatives promised more tools for advertisers before the end of the "
        "year, including clearer reporting and simpler ways to buy placements.",
    ]
