"""Sponsorships: which sponsor block shows, when it stops, and when partner content may go live."""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from cms import services
from cms.models import Article
from sponsors.models import DisclosureLabel, Sponsorship
from sponsors.sponsorships import (
    display_sponsorship,
    require_partner_sponsorship,
    with_sponsor_block,
)
from tests.cms.factories import ArticleFactory, TopicFactory
from tests.sponsors.factories import (
    SponsorFactory,
    SponsorshipFactory,
    editor_user,
    label,
    partner_article,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def shown(article):
    sponsorship = display_sponsorship(
        with_sponsor_block(Article.objects.for_listing()).get(pk=article.pk)
    )
    return (sponsorship.label.text, sponsorship.sponsor.name) if sponsorship else None


def test_the_managed_list_of_labels_exists():
    assert list(DisclosureLabel.objects.values_list("text", flat=True)) == [
        "Content created with",
        "Sponsored by",
        "Paid post",
        "In partnership with",
    ]


@time_machine.travel(NOW, tick=False)
def test_a_sponsorship_shows_only_inside_its_window():
    article = ArticleFactory(published_at=NOW - 48 * HOUR)
    sponsor = SponsorFactory(name="TikTok")
    SponsorshipFactory(
        article=article, sponsor=sponsor, starts_at=NOW + HOUR, ends_at=NOW + 5 * HOUR
    )
    assert shown(article) is None  # not started
    with time_machine.travel(NOW + 2 * HOUR, tick=False):
        assert shown(article) == ("Content created with", "TikTok")
    with time_machine.travel(NOW + 5 * HOUR, tick=False):
        assert shown(article) is None  # ended: the end is exclusive


def test_an_inactive_sponsor_stops_showing():
    sponsorship = SponsorshipFactory()
    assert shown(sponsorship.article) is not None
    sponsorship.sponsor.is_active = False
    sponsorship.sponsor.save()
    assert shown(sponsorship.article) is None


@time_machine.travel(NOW, tick=False)
def test_a_topic_sponsorship_covers_every_article_of_the_topic_in_its_window():
    topic = TopicFactory(name="Technology")
    first, second = ArticleFactory(topics=[topic]), ArticleFactory(topics=[topic])
    other = ArticleFactory(topics=[TopicFactory(name="Retail")])
    Sponsorship.objects.create(
        sponsor=SponsorFactory(name="Cloudco"),
        topic=topic,
        label=label("in-partnership-with"),
        starts_at=NOW - HOUR,
        ends_at=NOW + HOUR,
    )
    assert shown(first) == shown(second) == ("In partnership with", "Cloudco")
    assert shown(other) is None
    with time_machine.travel(NOW + HOUR, tick=False):
        assert shown(first) is None


@time_machine.travel(NOW, tick=False)
def test_the_articles_own_sponsorship_wins_over_its_topics():
    topic = TopicFactory()
    article = ArticleFactory(topics=[topic])
    Sponsorship.objects.create(
        sponsor=SponsorFactory(name="Topic sponsor"),
        topic=topic,
        label=label("sponsored-by"),
        starts_at=NOW - HOUR,
        ends_at=NOW + HOUR,
    )
    SponsorshipFactory(article=article, sponsor=SponsorFactory(name="Own sponsor"))
    assert shown(article) == ("Content created with", "Own sponsor")


@time_machine.travel(NOW, tick=False)
def test_the_main_topic_wins_and_the_newest_own_sponsorship_wins():
    main, second = TopicFactory(name="Main"), TopicFactory(name="Second")
    article = ArticleFactory(topics=[main, second])
    for topic, name in [(second, "Second sponsor"), (main, "Main sponsor")]:
        Sponsorship.objects.create(
            sponsor=SponsorFactory(name=name),
            topic=topic,
            label=label("sponsored-by"),
            starts_at=NOW - HOUR,
            ends_at=NOW + HOUR,
        )
    assert shown(article) == ("Sponsored by", "Main sponsor")
    own = ArticleFactory()
    SponsorshipFactory(article=own, sponsor=SponsorFactory(name="Older"), starts_at=NOW - 9 * HOUR)
    SponsorshipFactory(article=own, sponsor=SponsorFactory(name="Newer"), starts_at=NOW - HOUR)
    assert shown(own) == ("Content created with", "Newer")


def test_without_prefetch_the_same_block_is_chosen():
    sponsorship = SponsorshipFactory()
    article = Article.objects.get(pk=sponsorship.article.pk)
    assert display_sponsorship(article) == sponsorship


@pytest.mark.parametrize(
    "fields",
    [
        {},  # no target
        {"article": "both"},  # article and topic
        {"starts_at": NOW, "ends_at": NOW - HOUR},  # ends before it starts
        {"article": None, "topic": "topic"},  # topic without a window
    ],
)
def test_invalid_sponsorships_are_refused_by_clean_and_by_the_database(fields):
    article, topic = ArticleFactory(), TopicFactory()
    values = {"sponsor": SponsorFactory(), "label": label(), "article": article, **fields}
    if values.get("article") == "both":
        values.update(article=article, topic=topic)
    if values.get("topic") == "topic":
        values["topic"] = topic
    if not fields:
        values["article"] = None
    sponsorship = Sponsorship(**values)
    with pytest.raises(ValidationError):
        sponsorship.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        sponsorship.save()


# ---------------------------------------------------------------------------------------------
# Partner content needs a live sponsorship to be published


def test_service_refuses_public_partner_content_without_sponsorship():
    article = ArticleFactory(kind=Article.Kind.PARTNER, status="draft", published_at=None)
    with pytest.raises(ValidationError) as error:
        require_partner_sponsorship(article=article, status="published")
    assert error.value.code == "partner_needs_sponsorship"
    assert "without a live sponsorship" in error.value.messages[0]
    SponsorshipFactory(article=article)
    require_partner_sponsorship(article=article, status="published")  # no error now


@time_machine.travel(NOW, tick=False)
def test_scheduling_needs_a_sponsorship_live_at_the_publication_time():
    article = ArticleFactory(kind=Article.Kind.PARTNER, status="draft", published_at=None)
    SponsorshipFactory(article=article, starts_at=NOW + 24 * HOUR)
    with pytest.raises(ValidationError):
        require_partner_sponsorship(
            article=article, status="scheduled", published_at=NOW + 2 * HOUR
        )
    require_partner_sponsorship(article=article, status="scheduled", published_at=NOW + 25 * HOUR)


def test_topic_sponsorship_does_not_make_partner_content_publishable():
    topic = TopicFactory()
    article = ArticleFactory(kind="partner", status="draft", published_at=None, topics=[topic])
    now = timezone.now()
    Sponsorship.objects.create(
        sponsor=SponsorFactory(),
        topic=topic,
        label=label(),
        starts_at=now - HOUR,
        ends_at=now + HOUR,
    )
    with pytest.raises(ValidationError):
        require_partner_sponsorship(article=article, status="published")


def test_publish_now_refuses_partner_content_without_sponsorship_and_changes_nothing():
    lonely = ArticleFactory(
        kind="partner", status="draft", published_at=None, headline="Unsponsored post"
    )
    news = ArticleFactory(status="draft", published_at=None)
    with pytest.raises(ValidationError) as error:
        services.articles_publish_now(articles=Article.objects.filter(pk__in=[lonely.pk, news.pk]))
    assert "“Unsponsored post”" in error.value.messages[0]
    assert not Article.objects.live().exists()


@pytest.fixture
def editor(client):
    user = editor_user()
    client.force_login(user)
    return user


def test_admin_publish_now_action_reports_the_refusal(client, editor):
    article = ArticleFactory(
        kind="partner", status="draft", published_at=None, headline="Unsponsored post"
    )
    response = client.post(
        "/admin/cms/article/",
        {"action": "publish_now", "_selected_action": [article.pk]},
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Nothing was published" in page
    assert "without a live sponsorship" in page
    article.refresh_from_db()
    assert article.status == "draft"
    SponsorshipFactory(article=article)
    response = client.post(
        "/admin/cms/article/",
        {"action": "publish_now", "_selected_action": [article.pk]},
        follow=True,
    )
    assert "1 article(s) published" in response.content.decode()


def _change_form(article, **overrides):
    return {
        "headline": article.headline,
        "slug": article.slug,
        "standfirst": article.standfirst,
        "kind": article.kind,
        "author": "",
        "status": article.status,
        "published_at_0": "",
        "published_at_1": "",
        "hero_caption": "",
        "hero_alt": "",
        "article_topics-TOTAL_FORMS": "0",
        "article_topics-INITIAL_FORMS": "0",
        "blocks-TOTAL_FORMS": "0",
        "blocks-INITIAL_FORMS": "0",
        **overrides,
    }


def test_admin_change_form_refuses_publishing_partner_content_without_sponsorship(client, editor):
    article = ArticleFactory(kind="partner", status="draft", published_at=None)
    url = f"/admin/cms/article/{article.pk}/change/"
    response = client.post(url, _change_form(article, status="published"))
    assert response.status_code == 200
    assert "Partner content cannot be published without a live sponsorship" in (
        response.content.decode()
    )
    article.refresh_from_db()
    assert article.status == "draft"
    # Turning news into partner content while it is live is the same act.
    news = ArticleFactory()
    response = client.post(
        f"/admin/cms/article/{news.pk}/change/",
        _change_form(
            news,
            kind="partner",
            status="published",
            published_at_0="2020-01-01",
            published_at_1="10:00",
        ),
    )
    assert "without a live sponsorship" in response.content.decode()


def test_admin_change_form_publishes_sponsored_partner_content(client, editor):
    article = ArticleFactory(kind="partner", status="draft", published_at=None)
    SponsorshipFactory(article=article, sponsor=SponsorFactory(name="TikTok"))
    page = client.get(f"/admin/cms/article/{article.pk}/change/").content.decode()
    assert "Content created with: TikTok (via its article)" in page
    response = client.post(
        f"/admin/cms/article/{article.pk}/change/", _change_form(article, status="published")
    )
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.is_live()


def test_editing_a_live_partner_article_after_its_sponsorship_ended_is_allowed(client, editor):
    article = partner_article()
    Sponsorship.objects.filter(article=article).update(ends_at=timezone.now() - HOUR)
    response = client.post(
        f"/admin/cms/article/{article.pk}/change/",
        _change_form(
            article,
            headline="Fixed typo",
            published_at_0=timezone.localtime(article.published_at).strftime("%Y-%m-%d"),
            published_at_1=timezone.localtime(article.published_at).strftime("%H:%M:%S.%f"),
        ),
    )
    assert response.status_code == 302
    assert Article.objects.get(pk=article.pk).headline == "Fixed typo"


def test_editors_may_see_but_not_change_sponsorships(client, editor):
    sponsorship = SponsorshipFactory()
    assert client.get("/admin/sponsors/sponsorship/").status_code == 200
    assert client.get(f"/admin/sponsors/sponsorship/{sponsorship.pk}/change/").status_code == 200
    assert client.get("/admin/sponsors/sponsorship/add/").status_code == 403
    assert editor.has_perm("sponsors.view_sponsor")
    assert not editor.has_perm("sponsors.change_sponsor")


def test_sponsorship_admin_filters_by_state(client):
    client.force_login(User.objects.create_superuser("root", "r@example.com", "pw-long-enough"))
    now = timezone.now()
    SponsorshipFactory(article__headline="Running campaign")
    SponsorshipFactory(article__headline="Finished campaign", ends_at=now - HOUR)
    live = client.get("/admin/sponsors/sponsorship/?state=live").content.decode()
    assert "Running campaign" in live and "Finished campaign" not in live
    ended = client.get("/admin/sponsors/sponsorship/?state=ended").content.decode()
    assert "Finished campaign" in ended and "Running campaign" not in ended


def test_an_api_using_the_publish_service_answers_400_not_500():
    from rest_framework.decorators import api_view, permission_classes
    from rest_framework.permissions import AllowAny
    from rest_framework.response import Response
    from rest_framework.test import APIRequestFactory

    @api_view(["POST"])
    @permission_classes([AllowAny])
    def publish(request):
        changed = services.articles_publish_now(articles=Article.objects.all())
        return Response({"published": changed})

    ArticleFactory(kind="partner", status="draft", published_at=None, headline="Unsponsored")
    response = publish(APIRequestFactory().post("/publish/"))
    assert response.status_code == 400
    assert response.data["code"] == "invalid"
    assert "without a live sponsorship" in response.data["errors"]["non_field_errors"][0]
