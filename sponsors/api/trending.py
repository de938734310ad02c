"""GET /api/v1/trending/: the most-read live articles of recent days (``sponsors.trending``).

A hot-path view (a plain Django view documented by a schema-only DRF view): a warm answer
is a few string joins of JSON kept in this process, no SQL query and no cache round trip.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.utils.encoders import JSONEncoder

from cms.api.errors import ERROR_400, ERROR_404, ERROR_503
from cms.api.filters import EMPTY_VALUE
from cms.api.serializers import ArticleListSerializer
from cms.models import Article, Topic
from sponsors import trending
from sponsors.api.ads import (
    HotPathDocs,
    HotPathView,
    _base_url,
    _head_schema,
    _options_schema,
    blank_params,
    query_params,
)
from sponsors.sponsorships import with_sponsor_block

DEFAULT_LIMIT = 10
_SLUG_RE = re.compile(r"[-a-zA-Z0-9_]{1,80}", re.ASCII)
_LIMIT_RE = re.compile(r"[0-9]{1,2}", re.ASCII)


class TrendingQuerySerializer(serializers.Serializer):
    topic = serializers.SlugField(
        required=False, help_text="Only articles of this topic (slug). Unknown: 404."
    )
    limit = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=trending.MAX_ITEMS,
        default=DEFAULT_LIMIT,
        help_text="How many articles.",
    )


class TrendingArticleSerializer(ArticleListSerializer):
    reads = serializers.IntegerField(help_text="Reads (page views) in the window.")
    score = serializers.FloatField(
        help_text="Sum of reads x 0.5 ** (age in hours / half-life) over the window."
    )

    class Meta(ArticleListSerializer.Meta):
        fields = [*ArticleListSerializer.Meta.fields, "reads", "score"]


class TrendingSerializer(serializers.Serializer):
    results = TrendingArticleSerializer(many=True)
    topic = serializers.SlugField(allow_null=True, help_text="The topic filter, or null.")
    window_days = serializers.IntegerField(help_text="Reads older than this do not count.")
    half_life_hours = serializers.FloatField(help_text="Reads this old weigh half.")
    computed_at = serializers.DateTimeField(help_text="When this ranking was computed (UTC).")


class TrendingDocs(HotPathDocs):
    @extend_schema(
        summary="Trending: the most-read live articles of recent days",
        description=(
            "Live articles ranked by `score`: the sum over the window's hourly read counts "
            "(`TRENDING_DAYS`, default 7 days) of `reads x 0.5 ** (age_hours / "
            "TRENDING_HALF_LIFE_HOURS)` (default half-life 24 hours; age from the start of "
            "the counted UTC hour), so recent reads weigh more. Ties: more reads, then the "
            "newer article. Only articles read in the window appear. Each answer is computed "
            "at most once per `TRENDING_CACHE_SECONDS` (default 120, at most 300) and "
            "`Cache-Control: public, max-age` counts down to the same instant: an article "
            "archived meanwhile may stay listed until then. An unknown topic is a 404."
        ),
        parameters=[TrendingQuerySerializer],
        responses={200: TrendingSerializer, **ERROR_400, **ERROR_404, **ERROR_503},
    )
    def get(self, request): ...

    @_head_schema(
        "As GET (the same parameters, statuses and headers), without a body.",
        {200: "The ranking.", 400: "Invalid parameters.", 404: "No such topic."},
        parameters=[TrendingQuerySerializer],
    )
    def head(self, request): ...

    @_options_schema()
    def options(self, request): ...


def _json(data: Any) -> str:
    return json.dumps(data, cls=JSONEncoder, ensure_ascii=False, separators=(",", ":"))


def _parse(params: dict[str, str], blank: set[str] | None = None) -> tuple[str | None, int]:
    topic = params.get("topic") or None
    raw_limit = params.get("limit")
    # Sent empty (`topic=`): a 400, as in every list, not the same as leaving it out.
    errors: dict[str, list[str]] = {
        name: [EMPTY_VALUE] for name in (blank or set()) & {"topic", "limit"}
    }
    if topic is not None and not _SLUG_RE.fullmatch(topic):
        errors["topic"] = ["Enter a topic slug."]
    limit = DEFAULT_LIMIT
    if raw_limit is not None:
        limit = int(raw_limit) if _LIMIT_RE.fullmatch(raw_limit) else 0
        if not 1 <= limit <= trending.MAX_ITEMS:
            errors["limit"] = [f"Enter a whole number from 1 to {trending.MAX_ITEMS}."]
    if errors:
        raise ValidationError(errors)
    return topic, limit


def trending_cards(
    request: HttpRequest, *, at: datetime, topic: str | None = None, limit: int = trending.MAX_ITEMS
) -> list[dict[str, Any]]:
    """The ranking at ``at`` as the API shows it (best first): each live article's card
    with its ``reads`` and ``score``. Queries: the ranking, the article cards (as the
    article list's)."""
    entries = trending.rank(at=at, topic=topic, limit=limit)
    articles = {
        article.pk: article
        for article in with_sponsor_block(
            Article.objects.live(at).filter(pk__in=[e.article_id for e in entries]).for_listing(),
            at=at,
        )
    }
    cards = []
    context = {"request": request}
    for entry in entries:
        article = articles.get(entry.article_id)
        if article is None:  # archived between the two queries
            continue
        data = dict(ArticleListSerializer(article, context=context).data)
        data["reads"] = entry.reads
        data["score"] = round(entry.score, 3)
        cards.append(data)
    return cards


def _build(request: HttpRequest, topic: str | None) -> tuple[tuple[str, ...], str]:
    """The ranking as ready JSON: one fragment per article (best first) and the rest of the
    answer. Queries: the topic, then those of ``trending_cards``."""
    if topic is not None and not Topic.objects.filter(slug=topic).exists():
        raise NotFound("No such topic.")
    now = timezone.now()
    items = tuple(_json(card) for card in trending_cards(request, at=now, topic=topic))
    rest = _json(
        {
            "topic": topic,
            "window_days": trending.trending_days(),
            "half_life_hours": trending.half_life_hours(),
            "computed_at": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        }
    )
    return items, rest


class TrendingView(HotPathView):
    """GET /api/v1/trending/: the cached ranking, sliced to ``limit``."""

    docs = TrendingDocs
    name = "Trending"
    description = "The most-read live articles of recent days, recent reads weighing more."

    def get(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        topic, limit = _parse(query_params(query), blank_params(query))
        base = _base_url(request)
        # The cards' page URLs follow SITE_PAGE_BASE_URL: a deploy that moves it gets new keys.
        key = f"trending:{base}:{settings.SITE_PAGE_BASE_URL}:{topic or ''}"
        (items, rest), expires = trending.cached(key, lambda: _build(request, topic))
        body = '{"results":[' + ",".join(items[:limit]) + "]," + rest[1:]
        max_age = max(0, int(expires - datetime.now(UTC).timestamp()))
        return HttpResponse(
            body.encode(),
            content_type="application/json",
            headers={"Cache-Control": f"public, max-age={max_age}"},
        )
