"""GET /api/v1/pages/articles/<slug>/: everything an article page shows, in one answer.

The article with its sponsor block and "More from <topic>"; the ads of the page's slots
(``ARTICLE_PAGE_SLOTS``), targeted by the article's own topics; which of them is the promo
strip (its ad carries the countdown, with ``server_time``); "Trending"; "Industry
insights"; the "Add your own content +" link; the read beacon of this page view.

:func:`article_page` composes it; the API view below and the reference pages
(``cms.site``) both answer from it. Readers' answers are stored payloads
(``cms.api.payloads``): the article, more-from, insights and links are built once per
version, and each answer fills in what is its own: a fresh decision for the slots (with the
viewer's frequency caps), the trending list (kept ``TRENDING_CACHE_SECONDS``), the read
beacon's token and the server's time. So nothing of an answer can be reused by another
reader: ``Cache-Control: no-store``, no ``ETag``.

Staff may add ``?at=<ISO time>`` (a session or a staff token): the page as it will be then,
computed on each request and never stored: the articles live then, the sponsor block of
that moment, the countdown's phase, the campaigns and creatives serving then. Nothing of it
counts: no read beacon, and the ads' beacons and clicks are preview tokens (counted apart,
never billed).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from random import Random
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.urls.converters import SlugConverter
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from cms import signin
from cms.api.authentication import ThrottledTokenAuthentication
from cms.api.errors import ERROR_400, ERROR_403, ERROR_404, ERROR_429_TOKEN
from cms.api.payloads import RawJSON, bypasses, hole, mark, register_hole, wants_holes
from cms.api.serializers import (
    ArticleDetailSerializer,
    ArticleListSerializer,
    absolute,
    page_url,
)
from cms.api.views import PublicCacheMixin, article_keys, more_from
from cms.models import Article
from sponsors import trending, versions
from sponsors.api.ads import AdDecisionSerializer, _base_url, render_decision
from sponsors.api.trending import TrendingArticleSerializer, trending_cards
from sponsors.decision import PageContext
from sponsors.inventory_cache import serve_page
from sponsors.sponsorships import next_schedule_change, with_sponsor_block
from sponsors.tracking import VIEWER_RE

log = logging.getLogger(__name__)

TRENDING_COUNT = 5
INSIGHTS_COUNT = 4
ADD_CONTENT_LABEL = "Add your own content"
_rng = Random()


def page_slots() -> tuple[str, ...]:
    """The slot keys of an article page (``ARTICLE_PAGE_SLOTS``, checked by the settings)."""
    return tuple(settings.ARTICLE_PAGE_SLOTS)


def promo_slot() -> str:
    """The slot whose ad is the page's promo strip (``ARTICLE_PAGE_PROMO_SLOT``)."""
    return str(settings.ARTICLE_PAGE_PROMO_SLOT)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- What each answer fills in --------------------------------------------------------------


def _unavailable(slots: list[str], now: datetime) -> dict[str, Any]:
    return {
        "slots": dict.fromkeys(slots),
        "unknown_slots": [],
        "server_time": now.isoformat().replace("+00:00", "Z"),
        "available": False,
    }


def page_ads(
    request: HttpRequest,
    slots: list[str],
    context: PageContext,
    *,
    now: datetime,
    preview: bool = False,
) -> bytes:
    """The JSON of the page's ads: the decision for ``slots``, or every slot empty with
    ``available: false`` when ad serving fails (the page reads on without them)."""
    try:
        decision = serve_page(slots, context, now=now, rng=_rng)
        body = render_decision(decision, context.viewer, _base_url(request), now, preview=preview)
    except Exception:  # a reader's page never fails for its ads: log it, serve empty slots
        log.exception("Article page: the ads of %s could not be decided", context.article)
        return json.dumps(_unavailable(slots, now), separators=(",", ":")).encode()
    return body[:-1] + b',"available":true}'


def _ads_filler(request: HttpRequest, argument: str, now: float) -> RawJSON:
    slots, topics, slug = argument.split("|")
    context = PageContext(
        topics=tuple(topics.split(",")) if topics else (),
        article=slug,
        viewer=getattr(request, "page_viewer", None),
    )
    moment = datetime.fromtimestamp(now, UTC)
    return RawJSON(page_ads(request, slots.split(","), context, now=moment))


def _trending_build(request: HttpRequest) -> tuple[tuple[str, str], ...]:
    # One more than shown: the page leaves its own article out.
    cards = trending_cards(request, at=timezone.now(), limit=TRENDING_COUNT + 1)
    return tuple((card["slug"], json.dumps(card, separators=(",", ":"))) for card in cards)


def _trending_filler(request: HttpRequest, argument: str, now: float) -> RawJSON:
    key = f"page-trending:{_base_url(request)}:{settings.SITE_PAGE_BASE_URL}"
    cards, _expires = trending.cached(key, lambda: _trending_build(request))
    shown = [card for slug, card in cards if slug != argument][:TRENDING_COUNT]
    return RawJSON(("[" + ",".join(shown) + "]").encode())


def _page_time_filler(request: HttpRequest, argument: str, now: float) -> str:
    return _utc(datetime.fromtimestamp(now, UTC))


register_hole("page_ads", _ads_filler)
register_hole("page_trending", _trending_filler)
register_hole("page_time", _page_time_filler)


# --- The page -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ArticlePage:
    """One article page: its data (the API's shape), what it shows (surrogate keys) and
    when it next changes by the clock."""

    data: dict[str, Any]
    keys: frozenset[str]
    expires: datetime | None


def article_page(
    request: HttpRequest,
    article: Article,
    *,
    at: datetime | None = None,
    viewer: str | None = None,
) -> ArticlePage:
    """Everything the page of ``article`` shows (see the module docstring).

    ``article`` comes with its sponsor block loaded (``with_sponsor_block(...for_detail())``
    at the same moment). ``at``: a staff preview of that moment, computed now and counting
    nothing; None: the page now, for a reader (``viewer``: their anonymous id, for frequency
    caps). While a payload is being stored (``wants_holes``), the per-answer parts are holes.
    """
    preview = at is not None
    moment = at or timezone.now()
    more = more_from(article, at=moment)
    insights = list(
        with_sponsor_block(
            Article.objects.live(moment)
            .filter(kind=Article.Kind.PARTNER)
            .exclude(pk=article.pk)
            .newest_first()
            .for_listing(),
            at=moment,
        )[:INSIGHTS_COUNT]
    )
    context = {"request": request, "more_from": more}
    article_data = dict(ArticleDetailSerializer(article, context=context).data)
    slots = list(page_slots())
    topics = [link.topic.slug for link in article.article_topics.all()]
    holes = wants_holes(request) and not preview
    ads: Any
    trending_list: Any
    if holes:
        ads = hole("page_ads", f"{','.join(slots)}|{','.join(topics)}|{article.slug}")
        trending_list = hole("page_trending", article.slug)
        server_time: str = hole("page_time")
    else:
        page_context = PageContext(topics=tuple(topics), article=article.slug, viewer=viewer)
        ads = json.loads(page_ads(request, slots, page_context, now=moment, preview=preview))
        if preview:
            article_data["read_url"] = None  # a preview is not a read
            cards = trending_cards(request, at=moment, limit=TRENDING_COUNT + 1)
            trending_list = [c for c in cards if c["slug"] != article.slug][:TRENDING_COUNT]
        else:
            trending_list = json.loads(_trending_filler(request, article.slug, moment.timestamp()))
        server_time = _utc(timezone.now())
    data = {
        "article": article_data,
        "ads": ads,
        "promo_slot": promo_slot(),
        "trending": trending_list,
        "insights": {
            "results": ArticleListSerializer(insights, many=True, context=context).data,
            "url": absolute(request, reverse("api:insight-list")),
            "page_url": page_url(request, "insights"),
        },
        "add_content": {
            "label": ADD_CONTENT_LABEL,
            "url": absolute(request, reverse("partners:submit")),
        },
        "server_time": server_time,
        "at": _utc(at) if at is not None else None,
    }
    shown = [article, *(more[1] if more else []), *insights]
    keys = article_keys(shown) | {versions.ARTICLES}
    if more:
        keys.add(versions.surrogate("topic", more[0].pk))
    return ArticlePage(data=data, keys=frozenset(keys), expires=next_schedule_change(moment))


def page_article(slug: str, *, at: datetime | None = None) -> Article:
    """The article live at ``at`` (now) with ``slug``, loaded for its page; else 404."""
    articles = with_sponsor_block(Article.objects.live(at).for_detail(), at=at)
    return get_object_or_404(articles, slug=slug)


def staff_user(request: Any) -> Any:
    """The staff member making ``request`` (a DRF request: a staff token or a staff
    session), or None."""
    found = ThrottledTokenAuthentication().authenticate(request)
    if found is None:
        # Read the session itself: this view has no authenticators, so DRF has already set
        # the Django request's user to anonymous (SessionAuthentication would read that).
        # (signin.session_user: anonymous too while the session owes its second factor.)
        session_user = signin.session_user(request._request)
        if not session_user.is_authenticated:
            return None
        SessionAuthentication().enforce_csrf(request)  # a safe method passes
        user = session_user
    else:
        user = found[0]
    return user if user.is_active and user.is_staff else None


# --- The API view ---------------------------------------------------------------------------


class PageQuerySerializer(serializers.Serializer):
    viewer = serializers.RegexField(
        rf"^{VIEWER_RE.pattern}\Z",
        required=False,
        max_length=64,
        trim_whitespace=False,  # "abc\n" is refused (as the ads API does), not read as "abc"
        help_text="Anonymous viewer id (1-64 of A-Z a-z 0-9 - _), for the ads' frequency caps.",
    )
    at = serializers.DateTimeField(
        required=False,
        help_text="Staff only (a session or a staff token): the page as it will be at this "
        "ISO 8601 time. Computed, never counted: no read beacon; the ads' beacons and "
        "clicks are counted apart as previews. Others: 403.",
    )


class PageAdsSerializer(AdDecisionSerializer):
    available = serializers.BooleanField(
        help_text="False when ad serving failed: every slot is null, the page reads on."
    )


class PageArticleSerializer(ArticleDetailSerializer):
    """The article as its detail shows it; ``read_url`` is null in a staff preview."""

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_read_url(self, article: Article) -> str | None:  # type: ignore[override]  # schema only
        return super().get_read_url(article)


class LinkSerializer(serializers.Serializer):
    label = serializers.CharField()  # type: ignore[assignment]  # a field: DRF takes it out of the class
    url = serializers.URLField()


class InsightsSerializer(serializers.Serializer):
    results = ArticleListSerializer(many=True, help_text="The newest live partner content.")
    url = serializers.URLField(help_text="The whole feed (“View all”).")
    page_url = serializers.URLField(help_text="The feed's page on the reference site.")


class ArticlePageSerializer(serializers.Serializer):
    article = PageArticleSerializer(
        help_text="The article as its detail answers it: body, sponsor block, more_from, and "
        "read_url (call it once per page view; null in a staff preview)."
    )
    ads = PageAdsSerializer(
        help_text="The page's slots (ARTICLE_PAGE_SLOTS), targeted by the article's topics: "
        "a fresh decision in every answer."
    )
    promo_slot = serializers.CharField(
        help_text="The slot key whose ad is the promo strip; its `countdown` ticks."
    )
    trending = TrendingArticleSerializer(many=True, help_text="Trending, this article left out.")
    insights = InsightsSerializer(help_text="Industry insights (this article left out).")
    add_content = LinkSerializer(help_text="“Add your own content +”: the partners' form.")
    server_time = serializers.DateTimeField(help_text="The server's clock when it answered.")
    at = serializers.DateTimeField(
        allow_null=True, help_text="The moment a staff preview shows; null for the page now."
    )


def _query_is_plain(request: HttpRequest) -> bool:
    """A reader's request: no parameter but one well-formed ``viewer``."""
    query = request.GET
    if not query:
        return True
    if list(query) != ["viewer"] or len(query.getlist("viewer")) != 1:
        return False
    return VIEWER_RE.fullmatch(query["viewer"]) is not None


@extend_schema(
    summary="Everything an article page shows, in one answer",
    description=(
        "The article (body, sponsor block, more-from, read beacon), the ads of the page's "
        "slots targeted by its topics, the promo strip's slot, Trending, Industry insights "
        "and the “Add your own content” link. Every answer holds a fresh ad decision and "
        "read beacon: `Cache-Control: no-store`. Staff may add `at` to see the page at "
        "another moment."
    ),
    parameters=[PageQuerySerializer],
    responses={
        200: ArticlePageSerializer,
        **ERROR_400,
        **ERROR_403,
        **ERROR_404,
        **ERROR_429_TOKEN,
    },
)
class ArticlePageViewSet(PublicCacheMixin, viewsets.GenericViewSet):
    """The article page: a stored payload per article, holes filled per answer."""

    queryset = Article.objects.none()  # the schema's model; retrieve() finds the article
    lookup_field = "slug"
    # Slugs as Django's path converter reads them: anything else (a NUL byte too) is the
    # API's 404 before any query.
    lookup_value_regex = SlugConverter.regex
    serializer_class = ArticlePageSerializer
    payload_conditional = False  # every answer's ads differ: no ETag, no 304
    pagination_class = None
    filterset_class = None

    def payload_bypassed(self, request: HttpRequest) -> bool:
        # `at` and anything unexpected go through DRF (which validates) and are not stored;
        # a well-formed `viewer` is read per answer by the ads' hole, so it is not a reason
        # to bypass (the mixin's own check would: it is no stored parameter).
        return not _query_is_plain(request) or bypasses(request, query=False)

    def payload_url(self, request: HttpRequest) -> str:
        return request.build_absolute_uri(request.path)  # the viewer is the answer's own

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        viewer = request.GET.get("viewer")
        request.page_viewer = (  # type: ignore[attr-defined]  # read by the ads' hole
            viewer if viewer and VIEWER_RE.fullmatch(viewer) else None
        )
        return super().dispatch(request, *args, **kwargs)

    def retrieve(self, request, slug=None):
        # A plain dict: `viewer=` is a blank value (400), not a field left out (DRF's
        # reading of form data).
        query = PageQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        at = query.validated_data.get("at")
        if at is not None and staff_user(request) is None:
            raise PermissionDenied("Only staff may see a page at another time (`at`).")
        page = article_page(
            request, page_article(slug, at=at), at=at, viewer=query.validated_data.get("viewer")
        )
        response = Response(page.data, headers={"Cache-Control": "no-store, private"})
        if at is not None:
            return response
        return mark(
            response,
            keys=page.keys,
            expires=page.expires,
            private=True,
            max_age=0,
            conditional=False,
        )
