"""Read API for sponsors and the "Industry insights" feed: anonymous, cacheable, live only."""

from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.response import Response

from cms.api.errors import ERROR_400, ERROR_404
from cms.api.filters import SlugChoiceFilter, topic_filter
from cms.api.payloads import mark
from cms.api.serializers import ArticleListSerializer, SponsorSummarySerializer, absolute
from cms.api.views import (
    ArticleGroupViewSet,
    PublicCacheMixin,
    article_group_schema,
    article_keys,
    mark_articles,
)
from cms.models import Article
from cms.querysets import ArticleQuerySet
from sponsors import versions
from sponsors.models import Sponsor, Sponsorship
from sponsors.sponsorships import next_schedule_change, sponsor_articles, with_sponsor_block

SPONSOR_ARTICLES_COUNT = 4


class SponsorSerializer(SponsorSummarySerializer):
    articles_url = serializers.SerializerMethodField(
        help_text="All the sponsor's live content, newest first (View all)."
    )

    @extend_schema_field(OpenApiTypes.URI)
    def get_articles_url(self, sponsor: Sponsor) -> str:
        return absolute(
            self.context.get("request"),
            reverse("api:sponsor-articles", kwargs={"slug": sponsor.slug}),
        )


class SponsorDetailSerializer(SponsorSerializer):
    articles = serializers.SerializerMethodField(
        help_text=f"The sponsor's {SPONSOR_ARTICLES_COUNT} newest live articles."
    )

    @extend_schema_field(ArticleListSerializer(many=True))
    def get_articles(self, sponsor: Sponsor) -> list[dict]:
        return ArticleListSerializer(  # type: ignore[return-value]  # many=True: a list
            self.context.get("sponsor_articles", []), many=True, context=self.context
        ).data


@extend_schema_view(
    **article_group_schema(
        serializer=SponsorSerializer,
        detail_serializer=SponsorDetailSerializer,
        list_summary="Active sponsors, by name",
        detail_summary="One sponsor's profile and its newest live content",
        articles_summary="All live content of a sponsor, newest first (“View all”)",
    )
)
class SponsorViewSet(ArticleGroupViewSet):
    """Active sponsors: the profiles shown with the content they sponsor."""

    queryset = Sponsor.objects.filter(is_active=True).order_by("name")
    serializer_class = SponsorSerializer
    key_kind, collection = "sponsor", versions.SPONSORS

    def live_articles_of(self, obj: Sponsor) -> ArticleQuerySet:
        return sponsor_articles(obj)

    def retrieve(self, request, *args, **kwargs):
        sponsor = self.get_object()
        articles = with_sponsor_block(sponsor_articles(sponsor).newest_first().for_listing())
        shown = list(articles[:SPONSOR_ARTICLES_COUNT])
        context = {**self.get_serializer_context(), "sponsor_articles": shown}
        response = Response(SponsorDetailSerializer(sponsor, context=context).data)
        return mark(
            response,
            keys=article_keys(shown) | {versions.surrogate("sponsor", sponsor.pk)},
            expires=next_schedule_change(timezone.now()),
        )


class SponsorSlugFilter(SlugChoiceFilter):
    """A sponsor chosen by slug (the filter method decides what "carries" means)."""


class InsightFilter(django_filters.FilterSet):
    sponsor = SponsorSlugFilter(
        queryset=Sponsor.objects.filter(is_active=True),
        method="filter_sponsor",
        help_text="Sponsor slug: content carrying this sponsor's live sponsorship (unknown: 404).",
    )
    topic = topic_filter()

    class Meta:
        model = Article
        fields = ["sponsor", "topic"]

    def filter_sponsor(self, queryset, name, sponsor):
        own = Sponsorship.objects.live().filter(article=OuterRef("pk"), sponsor=sponsor)
        return queryset.filter(Exists(own))


@extend_schema_view(
    list=extend_schema(
        summary="Industry insights: live partner content, newest first",
        responses={200: ArticleListSerializer, **ERROR_400, **ERROR_404},
    ),
)
class InsightViewSet(PublicCacheMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Partner (sponsor-submitted) content, the "Industry insights — View all" feed."""

    serializer_class = ArticleListSerializer
    filterset_class = InsightFilter

    def get_queryset(self):
        articles = Article.objects.live().filter(kind=Article.Kind.PARTNER).newest_first()
        return with_sponsor_block(articles.for_listing())

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        page = getattr(self.paginator, "page", None)
        return mark_articles(response, page.object_list if page else [], versions.ARTICLES)
