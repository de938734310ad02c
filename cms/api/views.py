"""Read API for articles, topics and authors: anonymous, cacheable, live content only."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils.cache import patch_cache_control
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from cms.api.errors import ERROR_400, ERROR_404
from cms.api.filters import ArticleFilter
from cms.api.serializers import (
    ArticleDetailSerializer,
    ArticleListSerializer,
    AuthorSerializer,
    TopicSerializer,
)
from cms.models import Article, Author, Topic
from sponsors.sponsorships import with_sponsor_block

MORE_FROM_COUNT = 4
PUBLIC_MAX_AGE = 60


class PublicCacheMixin:
    """Anonymous reads may be cached briefly by browsers and shared caches."""

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method == "GET" and response.status_code == 200:
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
        return Response(serializer.data)


class TopicArticlesMixin:
    """The live articles of one topic or author, paginated like the article list."""

    def _articles_response(self, articles):
        articles = with_sponsor_block(articles.live().newest_first().for_listing())
        page = self.paginate_queryset(articles)
        data = ArticleListSerializer(page, many=True, context=self.get_serializer_context()).data
        return self.get_paginated_response(data)


@extend_schema_view(
    list=extend_schema(
        summary="All topics", responses={200: TopicSerializer, **ERROR_400, **ERROR_404}
    ),
    retrieve=extend_schema(summary="One topic", responses={200: TopicSerializer, **ERROR_404}),
    articles=extend_schema(
        summary="Live articles of a topic (“More from … — View all”)",
        responses={200: ArticleListSerializer(many=True), **ERROR_400, **ERROR_404},
        filters=False,
    ),
)
class TopicViewSet(PublicCacheMixin, TopicArticlesMixin, viewsets.ReadOnlyModelViewSet):
    """Topics (tags) shown above and below articles."""

    queryset = Topic.objects.order_by("name")
    serializer_class = TopicSerializer
    lookup_field = "slug"
    filterset_class = None

    @action(detail=True, methods=["get"], filterset_class=None)
    def articles(self, request, slug=None):
        topic = get_object_or_404(Topic, slug=slug)
        return self._articles_response(Article.objects.tagged(topic.slug))


@extend_schema_view(
    list=extend_schema(
        summary="All authors", responses={200: AuthorSerializer, **ERROR_400, **ERROR_404}
    ),
    retrieve=extend_schema(summary="One author", responses={200: AuthorSerializer, **ERROR_404}),
    articles=extend_schema(
        summary="Live articles by an author",
        responses={200: ArticleListSerializer(many=True), **ERROR_400, **ERROR_404},
        filters=False,
    ),
)
class AuthorViewSet(PublicCacheMixin, TopicArticlesMixin, viewsets.ReadOnlyModelViewSet):
    """Authors with their role and region."""

    queryset = Author.objects.order_by("name")
    serializer_class = AuthorSerializer
    lookup_field = "slug"
    filterset_class = None

    @action(detail=True, methods=["get"], filterset_class=None)
    def articles(self, request, slug=None):
        author = get_object_or_404(Author, slug=slug)
        return self._articles_response(Article.objects.filter(author=author))
