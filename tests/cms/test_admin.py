"""The editors' admin: lists, actions, the body editor and who may use them."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.utils import timezone
from django.utils.html import strip_tags

from cms.models import Article, ArticleBlock
from tests.cms.factories import ArticleFactory, AuthorFactory, BlockFactory, TopicFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(client):
    user = User.objects.create_user("ed", is_staff=True)
    user.groups.add(Group.objects.get(name="Editors"))
    client.force_login(user)
    return user


def test_editors_group_has_exactly_the_editorial_permissions():
    codenames = set(
        Group.objects.get(name="Editors").permissions.values_list("codename", flat=True)
    )
    assert {"add_article", "change_article", "view_article", "delete_articleblock"} <= codenames
    assert "delete_article" not in codenames  # editors archive instead
    assert not {c for c in codenames if c.endswith(("_user", "_group", "_permission"))}


def test_changelist_shows_what_editors_need(client, editor):
    topic = TopicFactory(name="Microsoft")
    ArticleFactory(
        headline="TikTok rejects offer", topics=[topic], author=AuthorFactory(name="Shawn")
    )
    page = client.get("/admin/cms/article/").content.decode()
    for text in ["TikTok rejects offer", "Live", "Shawn", "Microsoft", "Preview"]:
        assert text in page


@pytest.mark.parametrize("rows", [1, 30])
def test_changelist_query_count_does_not_grow(client, editor, django_assert_num_queries, rows):
    topics = [TopicFactory(), TopicFactory()]
    for _ in range(rows):
        ArticleFactory(topics=topics)
    # session, user, user perms, group perms, topic filter choices, author filter choices,
    # count (filtered) + count (total), the page joined to authors, the page's topics,
    # date hierarchy range + its days
    with django_assert_num_queries(12):
        response = client.get("/admin/cms/article/")
    assert response.status_code == 200


def test_filters_and_search(client, editor):
    topic = TopicFactory(name="Microsoft")
    ArticleFactory(headline="Cloud deal", topics=[topic])
    ArticleFactory(headline="Creator fund", kind="opinion", status="draft", published_at=None)
    page = client.get("/admin/cms/article/?topic=microsoft").content.decode()
    assert "Cloud deal" in page and "Creator fund" not in page
    page = client.get("/admin/cms/article/?status__exact=draft").content.decode()
    assert "Creator fund" in page and "Cloud deal" not in page
    page = client.get("/admin/cms/article/?q=creator").content.decode()
    assert "Creator fund" in page and "Cloud deal" not in page


def test_publish_now_action_reports_how_many_changed(client, editor):
    draft = ArticleFactory(status="draft", published_at=None)
    live = ArticleFactory()
    response = client.post(
        "/admin/cms/article/",
        {"action": "publish_now", "_selected_action": [draft.pk, live.pk]},
        follow=True,
    )
    assert "1 article(s) published; 1 already live." in response.content.decode()
    draft.refresh_from_db()
    assert draft.is_live()


def test_archive_action(client, editor):
    article = ArticleFactory()
    response = client.post(
        "/admin/cms/article/", {"action": "archive", "_selected_action": [article.pk]}, follow=True
    )
    assert "1 article(s) archived." in response.content.decode()
    assert not Article.objects.live().exists()


def test_editor_builds_and_orders_the_body_without_json(client, editor):
    author = AuthorFactory()
    topic = TopicFactory(name="TikTok")
    data = {
        "headline": "A new article",
        "slug": "a-new-article",
        "standfirst": "Summary",
        "kind": "news",
        "author": author.pk,
        "status": "draft",
        "published_at_0": "",
        "published_at_1": "",
        "hero_caption": "",
        "hero_alt": "",
        "article_topics-TOTAL_FORMS": "1",
        "article_topics-INITIAL_FORMS": "0",
        "article_topics-0-topic": topic.pk,
        "article_topics-0-position": "0",
        "blocks-TOTAL_FORMS": "3",
        "blocks-INITIAL_FORMS": "0",
        "blocks-0-position": "3",
        "blocks-0-kind": "list",
        "blocks-0-text": "First point\nSecond point",
        "blocks-1-position": "2",
        "blocks-1-kind": "quote",
        "blocks-1-text": "Something said",
        "blocks-1-attribution": "Someone",
        "blocks-2-position": "1",
        "blocks-2-kind": "paragraph",
        "blocks-2-text": " ".join(["word"] * 450),
    }
    response = client.post("/admin/cms/article/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    article = Article.objects.get(slug="a-new-article")
    assert [b.kind for b in article.blocks.all()] == ["paragraph", "quote", "list"]
    assert article.reading_minutes == 3
    assert [t.name for t in article.topics.all()] == ["TikTok"]


def test_block_without_its_content_is_a_form_error(client, editor):
    article = ArticleFactory(status="draft", published_at=None)
    data = {
        "headline": article.headline,
        "slug": article.slug,
        "kind": "news",
        "status": "draft",
        "article_topics-TOTAL_FORMS": "0",
        "article_topics-INITIAL_FORMS": "0",
        "blocks-TOTAL_FORMS": "1",
        "blocks-INITIAL_FORMS": "0",
        "blocks-0-position": "0",
        "blocks-0-kind": "quote",
        "blocks-0-text": "",
    }
    response = client.post(f"/admin/cms/article/{article.pk}/change/", data)
    assert response.status_code == 200
    assert "A pull quote needs the quoted words." in response.content.decode()
    assert not ArticleBlock.objects.exists()


def test_scheduling_without_a_time_is_a_form_error(client, editor):
    data = {
        "headline": "Later",
        "slug": "later",
        "kind": "news",
        "status": "scheduled",
        "article_topics-TOTAL_FORMS": "0",
        "article_topics-INITIAL_FORMS": "0",
        "blocks-TOTAL_FORMS": "0",
        "blocks-INITIAL_FORMS": "0",
    }
    response = client.post("/admin/cms/article/add/", data)
    assert "Give the time at which this article should go live." in response.content.decode()
    assert not Article.objects.exists()


def test_slug_is_fixed_once_public(client, editor):
    public = ArticleFactory()
    draft = ArticleFactory(status="draft", published_at=None)
    assert (
        'name="slug"' not in client.get(f"/admin/cms/article/{public.pk}/change/").content.decode()
    )
    assert 'name="slug"' in client.get(f"/admin/cms/article/{draft.pk}/change/").content.decode()


def test_preview_shows_a_draft_to_editors_only(client, editor):
    article = ArticleFactory(
        status="draft",
        published_at=None,
        headline="Secret draft",
        author=AuthorFactory(name="Shawn Lim", role="Reporter", region="Asia Pacific"),
    )
    BlockFactory(article=article, kind="list", text="One\nTwo")
    page = client.get(f"/preview/articles/{article.pk}/").content.decode()
    assert "Secret draft" in page
    assert "By Shawn Lim, Reporter, Asia Pacific" in " ".join(strip_tags(page).split())
    assert "<li>Two</li>" in page
    client.logout()
    response = client.get(f"/preview/articles/{article.pk}/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_anonymous_is_sent_to_login(client):
    response = client.get("/admin/cms/article/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_staff_without_permissions_is_refused(client):
    user = User.objects.create_user("intern", is_staff=True)
    client.force_login(user)
    assert client.get("/admin/cms/article/").status_code == 403
    article = ArticleFactory()
    assert client.get(f"/preview/articles/{article.pk}/").status_code == 403
    response = client.post(
        "/admin/cms/article/", {"action": "archive", "_selected_action": [article.pk]}
    )
    assert response.status_code == 403
    assert Article.objects.live().exists()


def test_view_only_staff_cannot_run_actions(client):
    user = User.objects.create_user("viewer", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_article"))
    client.force_login(user)
    article = ArticleFactory()
    client.post("/admin/cms/article/", {"action": "archive", "_selected_action": [article.pk]})
    assert Article.objects.live().filter(pk=article.pk).exists()


def test_published_at_is_aware():
    assert timezone.is_aware(
        ArticleFactory(published_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)).published_at
    )


@pytest.mark.parametrize("rows", [1, 30])
@pytest.mark.parametrize(
    ("url", "factory", "queries"),
    [
        # session, user, user perms, group perms, count x2, the page
        ("/admin/cms/topic/", TopicFactory, 7),
        # ... plus the region filter's choices
        ("/admin/cms/author/", AuthorFactory, 8),
    ],
)
def test_topic_and_author_changelists_query_count(
    client, editor, django_assert_num_queries, rows, url, factory, queries
):
    factory.create_batch(rows)
    with django_assert_num_queries(queries):
        assert client.get(url).status_code == 200


def test_preview_shows_the_sponsor_block(client, editor):
    from sponsors.models import DisclosureLabel, Sponsorship
    from tests.sponsors.factories import SponsorFactory

    article = ArticleFactory(kind="partner", status="draft", published_at=None)
    Sponsorship.objects.create(
        sponsor=SponsorFactory(name="TikTok", website_url="https://tiktok.example/"),
        label=DisclosureLabel.objects.get(text="Content created with"),
        article=article,
    )
    page = client.get(f"/preview/articles/{article.pk}/").content.decode()
    assert "Content created with:" in page
    assert "TikTok" in page and "Find out more" in page
