"""Demo sponsors, partner articles and a partner login, shaped like the seed page's
"Content created with: …" block (logo, description, "Find out more").

All text is written for the demo and every logo is drawn with Pillow. Objects are looked up
by slug or name before they are created, so loading twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFont
from rest_framework.authtoken.models import Token

from cms import signin
from cms.demo import FEATURE_SLUG, demo_image
from cms.models import Article, ArticleBlock, ArticleTopic, Submission, Topic
from cms.submissions import submission_create
from sponsors.models import DisclosureLabel, Partner, Sponsor, Sponsorship
from sponsors.sponsorships import PARTNERS_GROUP

SPONSORS: list[dict[str, Any]] = [
    {
        "slug": "reelhouse",
        "name": "Reelhouse",
        "description": "Reelhouse is a short-video platform where people discover creators, "
        "music and brands in a feed made for them. <b>Reelhouse for Business</b> helps "
        "marketers of every size reach that audience with creative that feels native.",
        "website_url": "https://business.reelhouse.example/",
        "contact_email": "partnerships@reelhouse.example",
        "colors": ((255, 0, 80), (0, 242, 234)),
    },
    {
        "slug": "northwind-cloud",
        "name": "Northwind Cloud",
        "description": "Northwind Cloud runs data, AI and advertising workloads for media "
        "companies in forty regions.",
        "website_url": "https://northwind-cloud.example/media",
        "contact_email": "media@northwind-cloud.example",
        "colors": ((0, 120, 215), (80, 200, 120)),
    },
]

# (slug, sponsor slug, label slug, headline, standfirst, topics, hours ago, blocks)
PARTNER_ARTICLES = [
    (
        "what-short-video-taught-us-about-sound-on-creative",
        "reelhouse",
        "content-created-with",
        "What a year of sound-on campaigns taught us about creative",
        "Brands that write for the ear first are holding attention for longer.",
        ["TikTok", "Advertising", "Brand Strategy"],
        5,
        [
            (
                "paragraph",
                "Most video advertising was built for a muted autoplay feed. On "
                "platforms where people watch with the sound on, the first second of audio now "
                "does the work a thumbnail used to do.",
            ),
            (
                "quote",
                "The brands that win start with a sound people want to repeat.",
                "Head of creative strategy, Reelhouse",
            ),
            ("heading", "Three patterns from the campaigns that worked"),
            (
                "list",
                "Open with a voice or a beat, not a logo\nKeep captions for the "
                "quiet viewers, not as the script\nInvite a reply: duets and remixes extend reach",
            ),
            (
                "paragraph",
                "Measurement is catching up too: completion rates and shares say "
                "more about sound-on creative than the click ever did.",
            ),
        ],
    ),
    (
        "small-brands-creator-partnerships-playbook",
        "reelhouse",
        "content-created-with",
        "A playbook for small brands starting creator partnerships",
        "How to brief, pay and measure creators without an agency.",
        ["Social Media", "Brand Strategy"],
        30,
        [
            (
                "paragraph",
                "Creator partnerships used to need an agency and a large budget. "
                "Marketplaces now let a shop with one marketer brief a creator in an afternoon.",
            ),
            ("heading", "Before the brief"),
            (
                "list",
                "Know the one thing the video must show\nAgree usage rights up front\n"
                "Decide how you will count success before you post",
            ),
            (
                "paragraph",
                "Pay fairly and on time; the creators who return are the ones who "
                "felt respected the first time.",
            ),
        ],
    ),
    (
        "cloud-costs-in-ad-tech",
        "northwind-cloud",
        "sponsored-by",
        "Where ad-tech teams are cutting cloud costs this year",
        "Bidding at scale is expensive; these teams found savings without losing speed.",
        ["Technology", "Advertising"],
        54,
        [
            (
                "paragraph",
                "Real-time bidding answers in milliseconds, and the compute behind "
                "it runs all day. Teams are moving batch work to cheaper hours and regions.",
            ),
            (
                "quote",
                "We halved our bill by asking which jobs really needed to be real time.",
                "An engineering lead at a demand-side platform",
            ),
            (
                "paragraph",
                "Storage is the quieter cost: log retention policies written years "
                "ago often keep far more than anyone reads.",
            ),
        ],
    ),
]

PENDING_SUBMISSION = {
    "headline": "Five creator formats brands overlook",
    "standfirst": "Beyond the unboxing: formats that are working for small shops.",
    "body_text": "Stitches, live question-and-answer sessions and behind-the-scenes series "
    "are quietly outperforming polished spots.\n\n## The formats\n\n- Stitches\n"
    "- Live questions\n- Behind the scenes\n- Day in the life\n- Tutorials",
}


def demo_logo(name: str, colors) -> ContentFile:
    """A transparent PNG logo: a rounded "play" mark and the name, drawn with Pillow."""
    image = Image.new("RGBA", (640, 200), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    first, second = colors
    draw.rounded_rectangle((16, 28, 160, 172), radius=36, fill=(*first, 255))
    draw.polygon([(66, 64), (66, 136), (126, 100)], fill=(*second, 255))
    try:
        font = ImageFont.load_default(size=64)
    except (TypeError, OSError):  # Pillow without FreeType: the small bitmap font
        font = ImageFont.load_default()
    draw.text((186, 62), name, fill=(24, 24, 27, 255), font=font)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return ContentFile(out.getvalue(), name=f"{name.lower().replace(' ', '-')}-logo.png")


def _sponsor(spec: dict) -> Sponsor:
    sponsor, _ = Sponsor.objects.get_or_create(
        slug=spec["slug"],
        defaults={
            key: spec[key] for key in ("name", "description", "website_url", "contact_email")
        },
    )
    if not sponsor.logo:
        sponsor.logo.save("logo.png", demo_logo(spec["name"], spec["colors"]), save=False)
        sponsor.save()
    return sponsor


def _article(spec, sponsors: dict[str, Sponsor], now) -> Article:
    slug, sponsor_slug, label_slug, headline, standfirst, topics, hours, blocks = spec
    article = Article.objects.filter(slug=slug).first()
    if article is None:
        # Sponsorship first: partner content is never public without one.
        article = Article(
            slug=slug,
            headline=headline,
            standfirst=standfirst,
            kind=Article.Kind.PARTNER,
            hero_alt=f"Illustration for “{headline}”",
        )
        article.hero_image.save(f"{slug}.jpg", demo_image(headline[:40]), save=False)
        article.save()
        for position, (kind, text, *extra) in enumerate(blocks):
            ArticleBlock.objects.create(
                article=article,
                position=position,
                kind=kind,
                text=text,
                attribution=extra[0] if extra else "",
            )
        for position, name in enumerate(topics):
            topic, _ = Topic.objects.get_or_create(name=name)
            ArticleTopic.objects.create(article=article, topic=topic, position=position)
    Sponsorship.objects.get_or_create(
        article=article,
        sponsor=sponsors[sponsor_slug],
        defaults={"label": DisclosureLabel.objects.get(slug=label_slug)},
    )
    if article.status == Article.Status.DRAFT:
        article.status = Article.Status.PUBLISHED
        article.published_at = now - dt.timedelta(hours=hours)
        article.save()
    return article


def _partner(password: str, sponsor: Sponsor) -> tuple[Partner, Token]:
    user, _ = User.objects.get_or_create(
        username="partner", defaults={"email": "partner@reelhouse.example"}
    )
    user.is_staff = user.is_superuser = False
    user.set_password(password)
    user.save()
    # Exactly this role, also when the demo runs again over an account changed by hand.
    user.groups.set([Group.objects.get(name=PARTNERS_GROUP)])
    user.user_permissions.clear()
    signin.sign_in_reset(user)  # the printed login works: no lockout
    partner, _ = Partner.objects.get_or_create(user=user, defaults={"sponsor": sponsor})
    token, _ = Token.objects.get_or_create(user=user)
    return partner, token


@transaction.atomic
def load(*, admin_password: str) -> list[str]:
    """Create or refresh the demo sponsors, partner content and partner login."""
    now = timezone.now()
    sponsors = {spec["slug"]: _sponsor(spec) for spec in SPONSORS}
    for spec in PARTNER_ARTICLES:
        _article(spec, sponsors, now)
    # The seed page's article carries "Content created with: <sponsor>" (logo, description,
    # "Find out more"): so does the demo's feature article.
    feature = Article.objects.filter(slug=FEATURE_SLUG).first()
    if feature is not None:
        Sponsorship.objects.get_or_create(
            article=feature,
            sponsor=sponsors["reelhouse"],
            defaults={"label": DisclosureLabel.objects.get(slug="content-created-with")},
        )
    partner, token = _partner(admin_password, sponsors["reelhouse"])
    if not Submission.objects.filter(
        submitted_by=partner.user, headline=PENDING_SUBMISSION["headline"]
    ).exists():
        submission_create(user=partner.user, data=PENDING_SUBMISSION)
    live_partner = Article.objects.live().filter(kind=Article.Kind.PARTNER).count()
    return [
        f"{Sponsor.objects.count()} sponsors, {live_partner} live partner articles "
        "(/api/v1/insights/), "
        f"{Submission.objects.filter(status=Submission.Status.PENDING).count()} submission(s) "
        "awaiting review (/admin/cms/submission/).",
        f"Partner login: 'partner' / '{admin_password}' at http://127.0.0.1:8000/partners/ "
        f"(API token {token.key}).",
    ]
