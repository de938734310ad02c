"""The demo data has a sponsor shaped like the seed page's, on live partner content."""

import io

import pytest
from django.core.management import call_command
from PIL import Image

from cms.models import Article, Submission
from sponsors.models import Partner, Sponsor

pytestmark = pytest.mark.django_db


def load():
    out = io.StringIO()
    call_command("load_demo_data", admin_password="demo-password", stdout=out)
    return out.getvalue()


def test_demo_sponsor_shows_in_article_detail_and_insights(api_client):
    output = load()
    assert "Partner login: 'partner'" in output
    insights = api_client.get("/api/v1/insights/").json()
    assert insights["count"] >= 2
    first = insights["results"][0]
    block = api_client.get(first["url"]).json()["sponsorship"]
    assert block["label"] == "Content created with"
    sponsor = block["sponsor"]
    assert sponsor["name"] == "Reelhouse"
    assert sponsor["description"]
    assert sponsor["website_url"].startswith("https://")
    assert {r["name"] for r in sponsor["logo"]["renditions"]} >= {"original", "thumbnail"}
    logo = Sponsor.objects.get(slug="reelhouse").logo
    with logo.open("rb") as fh:
        image = Image.open(io.BytesIO(fh.read()))
        assert image.format == "PNG" and image.mode == "RGBA"  # a transparent logo
        assert image.getpixel((0, 0))[3] == 0


def test_demo_partner_can_use_the_api_and_loading_twice_changes_nothing(api_client):
    load()
    counts = (
        Sponsor.objects.count(),
        Article.objects.count(),
        Partner.objects.count(),
        Submission.objects.count(),
    )
    load()
    assert counts == (
        Sponsor.objects.count(),
        Article.objects.count(),
        Partner.objects.count(),
        Submission.objects.count(),
    )
    partner = Partner.objects.get(user__username="partner")
    assert partner.user.check_password("demo-password")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {partner.user.auth_token.key}")
    mine = api_client.get("/api/v1/submissions/").json()
    assert mine["count"] == 1 and mine["results"][0]["status"] == "pending"


def test_the_demo_has_a_week_of_reads_so_trending_ranks_articles(api_client):
    from django.db.models import Sum

    from sponsors.models import ArticleReadCounter

    load()
    reads = ArticleReadCounter.objects.aggregate(n=Sum("reads"))["n"]
    load()  # again: replaced, not added to
    assert ArticleReadCounter.objects.aggregate(n=Sum("reads"))["n"] == reads > 0
    trending = api_client.get("/api/v1/trending/").json()["results"]
    assert len(trending) >= 5
    assert all(item["reads"] > 0 for item in trending)
    scores = [item["score"] for item in trending]
    assert scores == sorted(scores, reverse=True)


def test_the_feature_article_carries_the_seed_pages_sponsor_block(api_client):
    from cms.demo import FEATURE_SLUG

    call_command("load_demo_data", "--admin-password", "pw", stdout=io.StringIO())
    call_command("load_demo_data", "--admin-password", "pw", stdout=io.StringIO())
    article = api_client.get(f"/api/v1/articles/{FEATURE_SLUG}/").json()
    block = article["sponsorship"]
    assert block["label"] == "Content created with"
    assert block["sponsor"]["name"] == "Reelhouse"
    assert block["sponsor"]["logo"]["renditions"]
    assert "short-video platform" in block["sponsor"]["description"]
    assert block["sponsor"]["website_url"].startswith("https://")
