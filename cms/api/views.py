"""Read API for articles, topics and authors: anonymous, cacheable, live content only."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.shortcuts import get_object_or_404
from django.urls.converters import SlugConverter
from django.utils import timezone
from django.utils.cache import patch_cache_control
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.authentication import BaseAuthentication
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.serializers import Serializer

from cms.api.errors import ERROR_400, ERROR_404
from cms.api.filters import ArticleFilter
from cms.api.payloads import PUBLIC_MAX_AGE, CachedPayloadMixin, mark
from cms.api.serializers import (
    ArticleDetailSerializer,
    ArticleListSerializer,
    AuthorSerializer,
    TopicSerializer,
)
from cms.models import Article, Author, Topic
from cms.querysets import ArticleQuerySet
from sponsors import versions
from sponsors.sponsorships import display_sponsorship, next_schedule_change, with_sponsor_block

MORE_FROM_COUNT = 4
key = versions.surrogate


def article_keys(articles: Iterable[Article]) -> set[str]:
    """The surrogate keys of what the cards (or detail) of ``articles`` show: each article,
    its author, its topics, and the sponsor and label of its sponsor block (all loaded)."""
    keys: set[str] = set()
    for article in articles:
        keys.add(key("article", article.pk))
        if article.author_id is not None:
            keys.add(key("author", article.author_id))
        keys.update(key("topic", link.topic_id) for link in article.article_topics.all())
        sponsorship = display_sponsorship(article)
        if sponsorship is not None:
            keys.add(key("sponsor", sponsorship.sponsor_id))
            keys.add(key("label", sponsorship.label_id))
    return keys


def more_from(
    article: Article, *, at: datetime | None = None
) -> tuple[Topic, list[Article]] | None:
    """ "More from <main topic>": its other live articles at ``at`` (now), newest first, as
    the article detail and the article page show them; None for an article with no topic.
    Two queries and the sponsor blocks' two (the topics are loaded with the article)."""
    links = list(article.article_topics.all())
    if not links:
        return None
    topic = links[0].topic
    others = with_sponsor_block(
        Article.objects.live(at)
        .tagged(topic.slug)
        .exclude(pk=article.pk)
        .newest_first()
        .for_listing(),
        at=at,
    )[:MORE_FROM_COUNT]
    return topic, list(others)


def mark_articles(response: Any, articles: Iterable[Article], *owners: str) -> Any:
    """Mark a 200 answer listing ``articles`` (the list's ``owners`` keys: its collection,
    topic, author or sponsor) with its keys and the next scheduled change."""
    if response.status_code != 200:
        return response
    keys = article_keys(articles) | set(owners)
    return mark(response, keys=keys, expires=next_schedule_change(timezone.now()))


class PublicCacheMixin(CachedPayloadMixin):
    """Anonymous reads: served from ready-to-send payloads (``cms.api.payloads``) and cached
    briefly by browsers and shared caches. Every reader gets the same answer, so a session or
    token (even a stale one) is not looked at."""

    authentication_classes: Sequence[type[BaseAuthentication]] = []

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        # A view that chose its own caching (the article detail: private) keeps it.
        if (
            request.method == "GET"
            and response.status_code == 200
            and not response.has_header("Cache-Control")
        ):
            patch_cache_control(response, public=True, max_age=PUBLIC_MAX_AGE)
        return response


@extend_schema_view(
    list=extend_schema(
        summary="Live articles, newest first",
        responses={200: ArticleListSerializer, **ERROR_400, **ERROR_404},
    ),
    retrieve=extend_schema(
        summary="One live article with its body and “more from” its main topic",
        responses={200: ArticleDetailSerializer, **ERROR_404},
    ),
)
class ArticleViewSet(PublicCacheMixin, viewsets.ReadOnlyModelViewSet):
    """Live articles. Drafts, scheduled and archived articles are not found (404)."""

    lookup_field = "slug"
    # Slugs as Django's path converter reads them: anything else (a NUL byte too) is the
    # API's 404 before any query.
    lookup_value_regex = SlugConverter.regex
    filterset_class = ArticleFilter

    def get_queryset(self):
        articles = Article.objects.live().newest_first()
        if self.action == "retrieve":
            return with_sponsor_block(articles.for_detail())
        return with_sponsor_block(articles.for_listing().distinct())

    def get_serializer_class(self):
        return ArticleDetailSerializer if self.action == "retrieve" else ArticleListSerializer

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        page = getattr(self.paginator, "page", None)
        return mark_articles(response, page.object_list if page else [], versions.ARTICLES)

    def retrieve(self, request, *args, **kwargs):
        article = self.get_object()
        more = more_from(article)
        serializer = ArticleDetailSerializer(
            article, context={**self.get_serializer_context(), "more_from": more}
        )
        response = Response(serializer.data)
        shown = [article, *(more[1] if more else [])]
        keys = article_keys(shown) | ({key("topic", more[0].pk)} if more else set())
        # Each answer carries its own page view's read_url: a shared cache would hand one
        # token to many readers (all but the first counted as replays). Browsers may keep it.
        response["Cache-Control"] = f"private, max-age={PUBLIC_MAX_AGE}"
        return mark(response, keys=keys, expires=next_schedule_change(timezone.now()), private=True)


def article_group_schema(
    *,
    serializer: type[Serializer],
    detail_serializer: type[Serializer] | None = None,
    list_summary: str,
    detail_summary: str,
    articles_summary: str,
) -> dict:
    """The OpenAPI operations of an ``ArticleGroupViewSet`` (list, detail, ``articles/``)."""
    return {
        "list": extend_schema(
            summary=list_summary, responses={200: serializer, **ERROR_400, **ERROR_404}
        ),
        "retrieve": extend_schema(
            summary=detail_summary, responses={200: detail_serializer or serializer, **ERROR_404}
        ),
        "articles": extend_schema(
            summary=articles_summary,
            responses={200: ArticleListSerializer(many=True), **ERROR_400, **ERROR_404},
            filters=False,
        ),
    }


class ArticleGroupViewSet(PublicCacheMixin, viewsets.ReadOnlyModelViewSet):
    """Things that group articles (topics, authors, sponsors): list, detail by slug, and
    ``{slug}/articles/``, their live articles paginated like the article list."""

    lookup_field = "slug"
    # Slugs as Django's path converter reads them: anything else (a NUL byte too) is the
    # API's 404 before any query.
    lookup_value_regex = SlugConverter.regex
    filterset_class = None
    key_kind = ""  # "topic": the surrogate keys topic-<id>, and "topics" for the list
    collection = ""

    def live_articles_of(self, obj) -> ArticleQuerySet:
        """The live articles of ``obj``, in any order (``articles/`` sorts them)."""
        raise NotImplementedError

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        page = getattr(self.paginator, "page", None)
        shown = page.object_list if page else []
        keys = {self.collection, *(key(self.key_kind, obj.pk) for obj in shown)}
        return mark(response, keys=keys) if response.status_code == 200 else response

    def retrieve(self, request, *args, **kwargs):
        obj = self.get_object()
        response = Response(self.get_serializer(obj).data)
        return mark(response, keys={key(self.key_kind, obj.pk)})

    @action(detail=True, methods=["get"], filterset_class=None)
    def articles(self, request, slug=None):
        obj = get_object_or_404(self.get_queryset(), slug=slug)
        articles = with_sponsor_block(self.live_articles_of(obj).newest_first().for_listing())
        page = self.paginate_queryset(articles)
        data = ArticleListSerializer(page, many=True, context=self.get_serializer_context()).data
        response = self.get_paginated_response(data)
        return mark_articles(response, page or [], key(self.key_kind, obj.pk))


@extend_schema_view(
    **article_group_schema(
        serializer=TopicSerializer,
        list_summary="All topics",
        detail_summary="One topic",
        articles_summary="Live articles of a topic (“More from … — View all”)",
    )
)
class TopicViewSet(ArticleGroupViewSet):
    """Topics (tags) shown above and below articles."""

    queryset = Topic.objects.order_by("name")
    serializer_class = TopicSerializer
    key_kind, collection = "topic", versions.TOPICS

    def live_articles_of(self, obj: Topic) -> ArticleQuerySet:
        return Article.objects.tagged(obj.slug).live()


@extend_schema_view(
    **article_group_schema(
        serializer=AuthorSerializer,
        list_summary="All authors",
        detail_summary="One author",
        articles_summary="Live articles by an author",
    )
)
class AuthorViewSet(ArticleGroupViewSet):
    """Authors with their role and region."""

    queryset = Author.objects.order_by("name")
    serializer_class = AuthorSerializer
    key_kind, collection = "author", versions.AUTHORS

    def live_articles_of(self, obj: Author) -> ArticleQuerySet:
        return Article.objects.filter(author=obj).live()
