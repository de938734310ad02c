"""Read API for articles, topics and authors: anonymous, cacheable, live content only."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils.cache import patch_cache_control
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.serializers import Serializer

from cms.api.errors import ERROR_400, ERROR_404
from cms.api.filters import ArticleFilter
from cms.api.serializers import (
    ArticleDetailSerializer,
    ArticleListSerializer,
    AuthorSerializer,
    TopicSerializer,
)
from cms.models import Article, Author, Topic
from cms.querysets import ArticleQuerySet
from sponsors.sponsorships import with_sponsor_block

MORE_FROM_COUNT = 4
PUBLIC_MAX_AGE = 60


class PublicCacheMixin:
    """Anonymous reads may be cached briefly by browsers and shared caches."""

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
    filterset_class = ArticleFilter

    def get_queryset(self):
        articles = Article.objects.live().newest_first()
        if self.action == "retrieve":
            return with_sponsor_block(articles.for_detail())
        return with_sponsor_block(articles.for_listing().distinct())

    def get_serializer_class(self):
        return ArticleDetailSerializer if self.action == "retrieve" else ArticleListSerializer

    def retrieve(self, request, *args, **kwargs):
        article = self.get_object()
        links = list(article.article_topics.all())
        more = None
        if links:
            topic = links[0].topic
            others = with_sponsor_block(
                Article.objects.live()
                .tagged(topic.slug)
                .exclude(pk=article.pk)
                .newest_first()
                .for_listing()
            )[:MORE_FROM_COUNT]
            more = (topic, list(others))
        serializer = ArticleDetailSerializer(
            article, context={**self.get_serializer_context(), "more_from": more}
        )
        response = Response(serializer.data)
        # Each answer carries its own page view's read_url: a shared cache would hand one
        # token to many readers (all but the first counted as replays). Browsers may keep it.
        response["Cache-Control"] = f"private, max-age={PUBLIC_MAX_AGE}"
        return response


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
    filterset_class = None

    def live_articles_of(self, obj) -> ArticleQuerySet:
        """The live articles of ``obj``, in any order (``articles/`` sorts them)."""
        raise NotImplementedError

    @action(detail=True, methods=["get"], filterset_class=None)
    def articles(self, request, slug=None):
        obj = get_object_or_404(self.get_queryset(), slug=slug)
        articles = with_sponsor_block(self.live_articles_of(obj).newest_first().for_listing())
        page = self.paginate_queryset(articles)
        data = ArticleListSerializer(page, many=True, context=self.get_serializer_context()).data
        return self.get_paginated_response(data)


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

    def live_articles_of(self, obj: Author) -> ArticleQuerySet:
        return Article.objects.filter(author=obj).live()
