"""Front-end ad API: the page decision, the impression beacon and the click redirect.

These are the product's hot path: plain Django views (not DRF's, whose per-request machinery
costs more than they can spend), documented for OpenAPI by schema-only DRF views. They take no
authentication (no session or token lookup), validate their few parameters by hand, and read
the inventory from the cached snapshot, so a warm decision makes no SQL query. Every method
answers as the rest of the API does: errors and 405s in the error format, OPTIONS with
``Allow``, HEAD as GET without a body (and a HEAD never counts an impression or a click).
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import (
    APIException,
    MethodNotAllowed,
    NotFound,
    ValidationError,
)
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from cms.api.errors import (
    ERROR_400,
    ERROR_404,
    ERROR_503,
    REDIS_DOWN,
    ServiceUnavailable,
    api_error,
)
from cms.api.serializers import RenditionSerializer
from sponsors import tracking
from sponsors.api.countdowns import CountdownSerializer, countdown_payload
from sponsors.countdowns import countdown_state
from sponsors.counters import CLICK, IMPRESSION
from sponsors.decision import CreativeEntry, PageContext, PageDecision, Placement
from sponsors.inventory_cache import serve_page

MAX_SLOTS = 10
MAX_TOPICS = 20
MAX_PARAMS = 20
_KEY_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,49}", re.ASCII)
_SLUG_RE = re.compile(r"[-a-zA-Z0-9_]{1,80}", re.ASCII)
NO_STORE = "no-store, private"
log = logging.getLogger(__name__)

# Weighted draws: a per-process generator seeded from the OS and reseeded in every forked
# worker, so workers never share a sequence (SystemRandom would cost a system call a draw).
_rng = random.Random()
os.register_at_fork(after_in_child=_rng.seed)


# ---------------------------------------------------------------------------------------------
# Output shapes (documentation of what ``placement_data`` returns)


class AdImageSerializer(serializers.Serializer):
    alt = serializers.CharField(allow_blank=True)
    renditions = RenditionSerializer(many=True)


class AdTextSerializer(serializers.Serializer):
    headline = serializers.CharField()
    body = serializers.CharField(allow_blank=True)
    cta_label = serializers.CharField(help_text="The call-to-action button label.")


class AdSerializer(serializers.Serializer):
    slot = serializers.CharField(help_text="The slot key this ad fills.")
    creative_id = serializers.IntegerField()
    campaign_id = serializers.IntegerField()
    kind = serializers.ChoiceField(
        choices=["image", "text"], help_text="image (a banner) or text (a promo strip)."
    )
    width = serializers.IntegerField(allow_null=True, help_text="Image width in px (images).")
    height = serializers.IntegerField(allow_null=True, help_text="Image height in px (images).")
    image = AdImageSerializer(allow_null=True, help_text="Image banners; null for text strips.")
    text = AdTextSerializer(allow_null=True, help_text="Text promo strips; null for images.")
    countdown = CountdownSerializer(
        allow_null=True,
        help_text="The deadline countdown a promo strip carries (as the countdown API shows "
        "it), or null.",
    )
    house = serializers.BooleanField(help_text="True for the slot's house (fallback) creative.")
    impression_url = serializers.URLField(
        help_text="Call once (GET or POST) when the creative starts to render; answers 204."
    )
    click_url = serializers.URLField(
        help_text="Link the creative to this URL; it redirects to the advertiser."
    )


class AdDecisionSerializer(serializers.Serializer):
    slots = serializers.DictField(
        child=AdSerializer(allow_null=True),
        help_text="Each requested known slot key: its ad, or null when nothing serves.",
    )
    unknown_slots = serializers.ListField(
        child=serializers.CharField(), help_text="Requested slot keys that do not exist."
    )
    server_time = serializers.DateTimeField()


# ---------------------------------------------------------------------------------------------


def _split(raw: str | None, *, name: str, pattern: re.Pattern, limit: int) -> list[str]:
    if not raw:
        return []
    # Exactly the schema's pattern: no blanks around or between the commas.
    items = raw.split(",")
    bad = [item for item in items if not pattern.fullmatch(item)]
    if bad:
        raise ValidationError({name: [f"Not a valid key: {bad[0][:60]!r}."]})
    if len(items) > limit:
        raise ValidationError({name: [f"At most {limit} values."]})
    return items


_SLOTS_OK = re.compile(
    rf"[a-z0-9][a-z0-9_-]{{0,49}}(?:,[a-z0-9][a-z0-9_-]{{0,49}}){{0,{MAX_SLOTS - 1}}}"
)
_TOPICS_OK = re.compile(rf"[-a-zA-Z0-9_]{{1,80}}(?:,[-a-zA-Z0-9_]{{1,80}}){{0,{MAX_TOPICS - 1}}}")


def query_params(query: str) -> dict[str, str]:
    """The query string as a dict, as ``parse_qsl`` reads it (blank values dropped, the last
    of a repeated name kept), without building a QueryDict: it costs more than the rest.

    Query strings with nothing percent- or plus-encoded (the usual case) are split directly.
    """
    if query.count("&") >= MAX_PARAMS:
        raise ValidationError({"non_field_errors": ["Too many query parameters."]})
    if "%" in query or "+" in query:
        return dict(parse_qsl(query))
    params = {}
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if value:
            params[name] = value
    return params


def blank_params(query: str) -> set[str]:
    """The names sent with no value (``topic=``), which ``query_params`` leaves out."""
    names = set()
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if name and not value:
            names.add(unquote_plus(name))
    return names


def parse_request(params) -> tuple[list[str], PageContext]:
    """Validate the decision's query parameters; raise ValidationError (400) otherwise."""
    slots_raw = params.get("slots", "")
    topics_raw = params.get("topics", "")
    article = params.get("article", "")
    viewer = params.get("viewer") or None
    if (
        _SLOTS_OK.fullmatch(slots_raw)
        and (not topics_raw or _TOPICS_OK.fullmatch(topics_raw))
        and (not article or _SLUG_RE.fullmatch(article))
        and (viewer is None or tracking.VIEWER_RE.fullmatch(viewer))
    ):  # the usual, well-formed request: one pattern test per parameter
        topics = tuple(topics_raw.lower().split(",")) if topics_raw else ()
        return slots_raw.split(","), PageContext(topics=topics, article=article, viewer=viewer)
    return _parse_strictly(params)


def _parse_strictly(params) -> tuple[list[str], PageContext]:
    """The same rules item by item, to say exactly what is wrong."""
    errors: dict[str, list[str]] = {}
    slots: list[str] = []
    topics: list[str] = []
    for name, pattern, limit in (("slots", _KEY_RE, MAX_SLOTS), ("topics", _SLUG_RE, MAX_TOPICS)):
        try:
            value = _split(params.get(name), name=name, pattern=pattern, limit=limit)
        except ValidationError as exc:
            errors.update(exc.detail)  # type: ignore[arg-type]  # _split raises field errors
            continue
        if name == "slots":
            slots = value
        else:
            topics = [t.lower() for t in value]
    if not slots and "slots" not in errors:
        errors["slots"] = ["Give the page's slot keys, comma-separated."]
    article = params.get("article", "")
    if article and not _SLUG_RE.fullmatch(article):
        errors["article"] = ["Not a valid article slug."]
    viewer = params.get("viewer") or None
    if viewer is not None and not tracking.VIEWER_RE.fullmatch(viewer):
        errors["viewer"] = ["1 to 64 letters, digits, '-' or '_'."]
    if errors:
        raise ValidationError(errors)
    return slots, PageContext(topics=tuple(topics), article=article, viewer=viewer)


_PATHS: dict[str, str] = {}


def _path_prefix(name: str) -> str:
    # reverse() once per process; the token is appended to the prefix per ad.
    if name not in _PATHS:
        _PATHS[name] = reverse(f"api:{name}", kwargs={"token": "TOKEN"}).replace("TOKEN/", "")
    return _PATHS[name]


def countdown_data(creative: CreativeEntry, now: datetime) -> dict[str, Any] | None:
    """The countdown a creative carries, as the countdown API shows it at ``now``."""
    if creative.countdown is None:
        return None
    return countdown_payload(countdown_state(creative.countdown, now=now))


def placement_data(
    placement: Placement, viewer: str | None, base: str, now: datetime
) -> dict[str, Any]:
    """The API object of one served ad (see ``AdSerializer``)."""
    payload = placement.creative.payload
    impression, click = tracking.make_tokens(placement, viewer)
    image = payload["image"]
    if image is not None:
        image = {
            "alt": image["alt"],
            "renditions": [
                {
                    "name": name,
                    "url": url if url.startswith(("http://", "https://")) else base + url,
                    "width": width,
                    "height": height,
                }
                for name, url, width, height in image["renditions"]
            ],
        }
    return {
        "slot": placement.slot.key,
        "creative_id": payload["creative_id"],
        "campaign_id": payload["campaign_id"],
        "kind": payload["kind"],
        "width": payload["width"],
        "height": payload["height"],
        "image": image,
        "text": payload["text"],
        "countdown": countdown_data(placement.creative, now),
        "house": placement.house,
        "impression_url": f"{base}{_path_prefix('ads-impression')}{impression}/",
        "click_url": f"{base}{_path_prefix('ads-click')}{click}/",
    }


def decision_data(decision: PageDecision, viewer: str | None, base: str, now) -> dict[str, Any]:
    return {
        "slots": {
            key: placement_data(placement, viewer, base, now) if placement is not None else None
            for key, placement in decision.placements.items()
        },
        "unknown_slots": decision.unknown_slots,
        "server_time": now.isoformat().replace("+00:00", "Z"),
    }


# The decision's JSON is assembled from fragments: each creative's fields that do not change
# between requests are serialized once per host (the rendition URLs are absolute) and kept
# while the snapshot they came from is in use; only the slot, the house flag and the two
# signed URLs are serialized per ad. ``render_decision`` returns exactly the JSON of
# ``decision_data`` (a test checks it).
_fragments: dict[tuple[int, str], tuple[Any, str]] = {}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # fragments hold no time-dependent field


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _fragment(placement: Placement, base: str) -> str:
    creative = placement.creative
    key = (id(creative), base)
    cached = _fragments.get(key)
    if cached is not None and cached[0] is creative:
        return cached[1]
    data = placement_data(placement, None, base, _EPOCH)
    static = {
        name: data[name]
        for name in (
            "creative_id",
            "campaign_id",
            "kind",
            "width",
            "height",
            "image",
            "text",
        )
    }
    fragment = json.dumps(static, ensure_ascii=False, separators=(",", ":"))[1:-1]
    if len(_fragments) > 20_000:
        _fragments.clear()
    _fragments[key] = (creative, fragment)
    return fragment


def render_decision(
    decision: PageDecision, viewer: str | None, base: str, now, *, preview: bool = False
) -> bytes:
    """The JSON body of ``decision_data(...)``, built from cached fragments.

    ``preview``: the tokens of a staff preview (its beacons and clicks count apart, never).

    Only strings that cannot need escaping are written without ``json.dumps``: slot keys
    (validated as ``[a-z0-9_-]``), the base URL (a host Django validated), signed tokens
    (URL-safe characters) and the ISO time.
    """
    impression_prefix = base + _path_prefix("ads-impression")
    click_prefix = base + _path_prefix("ads-click")
    tokens = tracking.Tokens(preview=preview)
    parts = []
    for key, placement in decision.placements.items():
        if placement is None:
            parts.append(f'"{key}":null')
            continue
        impression, click = tokens(placement, viewer)
        countdown = countdown_data(placement.creative, now)
        parts.append(
            f'"{key}":{{"slot":"{placement.slot.key}",{_fragment(placement, base)},'
            f'"countdown":{"null" if countdown is None else _json(countdown)},'
            f'"house":{"true" if placement.house else "false"},'
            f'"impression_url":"{impression_prefix}{impression}/",'
            f'"click_url":"{click_prefix}{click}/"}}'
        )
    unknown = ",".join(f'"{key}"' for key in decision.unknown_slots)
    server_time = now.isoformat().replace("+00:00", "Z")
    return (
        f'{{"slots":{{{",".join(parts)}}},"unknown_slots":[{unknown}],'
        f'"server_time":"{server_time}"}}'
    ).encode()


_bases: dict[tuple[str, ...], str] = {}


def _base_url(request) -> str:
    """scheme://host of the request; get_host() (which checks ALLOWED_HOSTS) once per host."""
    meta = request.META
    key = (
        meta.get("HTTP_X_FORWARDED_PROTO", ""),
        meta.get("HTTP_HOST", ""),
        meta.get("HTTP_X_FORWARDED_HOST", ""),
        meta.get("wsgi.url_scheme", ""),
    )
    base = _bases.get(key)
    if base is None:
        base = f"{request.scheme}://{request.get_host()}"  # raises DisallowedHost if not allowed
        if len(_bases) > 1000:
            _bases.clear()
        _bases[key] = base
    return base


def _verified(kind: str, token: str, *, count_refusal: bool = True) -> tracking.TokenData:
    """The token's data, or a 400; a refused token is counted apart by its reason (expired,
    invalid), except for a HEAD, which counts nothing."""
    try:
        return tracking.read_token(kind, token)
    except tracking.InvalidTokenError as exc:
        if count_refusal:
            tracking.record_refused(kind, exc, now=timezone.now())
        raise ValidationError({"token": [str(exc)]}) from None


# ---------------------------------------------------------------------------------------------
# The OpenAPI description of the hot-path views (below): schema-only DRF views, never routed
# (their handlers never run), which drf-spectacular reads through ``HotPathView.as_view``.


class EndpointMetadataSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    renders = serializers.ListField(
        child=serializers.CharField(), help_text="Media types of the answers."
    )
    parses = serializers.ListField(
        child=serializers.CharField(), help_text="Media types of request bodies read (none)."
    )


def _head_schema(description: str, responses: dict[int, str], **kwargs: Any) -> Callable:
    """HEAD: the GET's statuses and headers, no body (so no content for any status; the
    503 every operation documents is added by ``document_service_unavailable``). Its id is
    the GET's with ``_head`` (cms.api.schema)."""
    return extend_schema(
        summary="Headers only: as GET, without a body",
        description=description,
        request=None,
        responses={code: OpenApiResponse(description=text) for code, text in responses.items()},
        **kwargs,
    )


def _options_schema() -> Callable:
    return extend_schema(
        summary="The methods (Allow header) and media types of the endpoint",
        description=(
            "200 with `Allow` and a description of the endpoint. Browsers' CORS preflights "
            "are answered before the view (origins in `CORS_ALLOWED_ORIGINS`). Any method "
            "not listed for this path answers 405 in the error format, with `Allow`."
        ),
        request=None,
        responses={
            200: OpenApiResponse(
                EndpointMetadataSerializer, description="The methods are in the Allow header."
            )
        },
    )


class HotPathDocs(APIView):
    """Documents a hot-path view for drf-spectacular; it never serves a request."""

    authentication_classes: list = []  # anonymous: no security scheme applies
    permission_classes = [AllowAny]

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        raise TypeError(f"{cls.__name__} only documents a view: route the view itself.")


DECISION_RESPONSES: dict[int, Any] = {200: AdDecisionSerializer, **ERROR_400, **ERROR_503}
BEACON_RESPONSES: dict[int, Any] = {
    204: OpenApiResponse(description="Received."),
    **ERROR_400,
    **ERROR_404,
    **ERROR_503,
}
CLICK_RESPONSES: dict[int, Any] = {
    302: OpenApiResponse(
        description="Redirect (Location header) to the creative's click-through URL."
    ),
    **ERROR_400,
    **ERROR_404,
    **ERROR_503,
}


# The patterns the parser holds the parameters to; an empty optional one (`topics=`) is the
# same as leaving it out (the hot path's parser drops blank values), so its pattern allows it.
DECISION_PARAMETERS = [
    OpenApiParameter(
        "slots",
        {"type": "string", "pattern": f"^{_SLOTS_OK.pattern}$"},
        required=True,
        description=f"Slot keys of the page, comma-separated (at most {MAX_SLOTS}).",
    ),
    OpenApiParameter(
        "topics",
        {"type": "string", "pattern": f"^(?:{_TOPICS_OK.pattern})?$"},
        description=f"Topic slugs of the page, comma-separated (at most {MAX_TOPICS}).",
    ),
    OpenApiParameter(
        "article",
        {"type": "string", "pattern": f"^(?:{_SLUG_RE.pattern})?$"},
        description="Slug of the article on the page.",
    ),
    OpenApiParameter(
        "viewer",
        {"type": "string", "pattern": f"^(?:{tracking.VIEWER_RE.pattern})?$"},
        description="Anonymous viewer id (1-64 of A-Z a-z 0-9 - _), for frequency caps.",
    ),
]


class AdDecisionDocs(HotPathDocs):
    @extend_schema(
        summary="The ads of a page: one creative (or null) per slot",
        description=(
            "One request for all slots of a page. Each slot gets the highest-tier eligible "
            "creative (dates, topic targeting, the viewer's frequency cap, pacing), weighted "
            "at random within its tier, never the same creative twice on the page; else the "
            "slot's house creative; else null. Unknown slot keys are listed in "
            "`unknown_slots`. Not cacheable: every answer is a fresh decision."
        ),
        parameters=DECISION_PARAMETERS,
        responses=DECISION_RESPONSES,
    )
    def get(self, request): ...

    @_head_schema(
        "Makes the same decision as GET (the same parameters, statuses and headers) and "
        "answers no body. Nothing is counted (a decision never is).",
        {200: "The decision was made.", 400: "Invalid parameters."},
        parameters=DECISION_PARAMETERS,
    )
    def head(self, request): ...

    @_options_schema()
    def options(self, request): ...


class ImpressionDocs(HotPathDocs):
    @extend_schema(
        summary="Impression beacon of a served ad",
        description=(
            "Counts the ad once (a replayed beacon counts nothing). Bots and crawlers are "
            "counted apart and never billed. GET for an image pixel, POST for sendBeacon."
        ),
        request=None,
        responses=BEACON_RESPONSES,
    )
    def get(self, request, token: str): ...

    @extend_schema(
        summary="Impression beacon of a served ad (sendBeacon)",
        description="The same as GET, for `navigator.sendBeacon`; the body is not read.",
        request=None,
        responses=BEACON_RESPONSES,
    )
    def post(self, request, token: str): ...

    @_head_schema(
        "Checks the token and answers as GET would (204, or 400 for a tampered, expired or "
        "foreign token) but counts nothing: a HEAD is not a view of the ad.",
        {204: "The token is valid; nothing was counted.", 400: "The token is not valid."},
    )
    def head(self, request, token: str): ...

    @_options_schema()
    def options(self, request, token: str): ...


class ClickDocs(HotPathDocs):
    @extend_schema(
        summary="Click-through: redirects to the advertiser",
        description=(
            "Redirects (302) to the creative's stored destination and counts the click once "
            "per served ad. A tampered, expired or foreign token answers 400 and counts "
            "nothing; it never redirects."
        ),
        responses=CLICK_RESPONSES,
    )
    def get(self, request, token: str): ...

    @_head_schema(
        "Answers as GET would (302 with the same Location, 400, 404) but counts nothing: "
        "link previewers and checkers send HEAD, and a HEAD is not a click.",
        {
            302: "Redirect (Location header) to the creative's click-through URL; not counted.",
            400: "The token is not valid.",
            404: "The ad no longer exists.",
        },
    )
    def head(self, request, token: str): ...

    @_options_schema()
    def options(self, request, token: str): ...


# ---------------------------------------------------------------------------------------------
# The views: plain Django views. A DRF view would run content negotiation, authentication,
# permission and throttle checks and a renderer on every request; the hot path needs none of
# them (anonymous, a few hand-checked parameters, JSON it writes itself) and cannot afford
# them. Each view is documented by a schema-only DRF view (its ``docs``, above) that
# drf-spectacular reads and nothing routes.

NO_STORE_HEADERS = {"Cache-Control": NO_STORE}


def _headless(response: HttpResponse) -> HttpResponse:
    """GET's answer as HEAD gives it: the same status and headers (Content-Length too), no
    body (not every WSGI server drops a HEAD's body itself)."""
    response["Content-Length"] = str(len(response.content))
    response.content = b""
    return response


class HotPathView(View):
    """Base of the hot-path views: Django's request in, a finished response out.

    An API error a handler raises (``ValidationError``, ``NotFound``) is answered at once in
    the API's error format, by the function that writes it for DRF's exception handler
    (``cms.api.errors.api_error``). Redis not answering is counted in the database
    (``sponsors.versions.breaker``); what still fails for it is a 503 with Retry-After. Every
    answer is ``no-store``. Methods a view does not serve answer 405 in the error format with
    ``Allow``; OPTIONS answers 200 with ``Allow`` and the view's metadata (the shape DRF's
    OPTIONS answers elsewhere in the API); HEAD answers what GET answers, without a body.
    """

    http_method_names = ["get", "head", "options"]
    docs: type[APIView]  # the schema-only view that documents this one
    name = ""  # the metadata OPTIONS answers
    description = ""
    allow = ""  # set per subclass: the methods it serves, as Allow lists them
    metadata = b""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.allow = ", ".join(m.upper() for m in cls.http_method_names if hasattr(cls, m))
        cls.metadata = _json(
            {
                "name": cls.name,
                "description": cls.description,
                "renders": ["application/json"],
                "parses": [],  # request bodies are never read
            }
        ).encode()

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        # No CSRF check: the views are anonymous and sendBeacon POSTs carry no token.
        view: Any = csrf_exempt(super().as_view(**initkwargs))
        # drf-spectacular documents the DRF views it finds through ``callback.cls`` (which
        # APIView.as_view sets): point it at the schema-only view.
        view.cls = cls.docs
        view.initkwargs = {}
        return view

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        method = (request.method or "").lower()
        handler = getattr(self, method, None) if method in self.http_method_names else None
        if handler is None:
            return self.http_method_not_allowed(request)
        try:
            response = handler(request, *args, **kwargs)
        except APIException as exc:
            response = api_error(exc, headers=NO_STORE_HEADERS)
        except REDIS_DOWN as exc:  # the database path could not stand in: rare, say so briefly
            log.warning("Ad serving: Redis did not answer (%s: %s)", type(exc).__name__, exc)
            response = api_error(ServiceUnavailable(), headers=NO_STORE_HEADERS)
        return _headless(response) if method == "head" else response

    def http_method_not_allowed(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        return api_error(
            MethodNotAllowed(request.method or ""),
            headers={"Allow": self.allow, "Cache-Control": NO_STORE},
        )

    def options(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return HttpResponse(
            self.metadata,
            content_type="application/json",
            headers={"Allow": self.allow, "Cache-Control": NO_STORE},
        )

    def head(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        get: Callable[..., HttpResponse] = getattr(self, "get")  # noqa: B009  # every view has one
        return get(request, *args, **kwargs)  # dispatch drops the body


class AdDecisionView(HotPathView):
    """GET /api/v1/ads/: the ads of a page. HEAD makes the same decision (it counts nothing)."""

    docs = AdDecisionDocs
    name = "Ad decision"
    description = "The ads of a page: one creative (or null) per slot."

    def get(self, request: HttpRequest) -> HttpResponse:
        slots, context = parse_request(query_params(request.META.get("QUERY_STRING", "")))
        now = timezone.now()
        decision = serve_page(slots, context, now=now, rng=_rng)
        return HttpResponse(
            render_decision(decision, context.viewer, _base_url(request), now),
            content_type="application/json",
            headers=NO_STORE_HEADERS,
        )


class ImpressionView(HotPathView):
    """The impression beacon: GET (pixel) or POST (sendBeacon) count; HEAD does not."""

    docs = ImpressionDocs
    http_method_names = ["get", "post", "head", "options"]
    name = "Impression beacon"
    description = "Counts a served ad once: GET for an image pixel, POST for sendBeacon."

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        data = _verified(IMPRESSION, token)
        tracking.record(
            IMPRESSION,
            data,
            user_agent=request.META.get("HTTP_USER_AGENT"),
            now=timezone.now(),
        )
        return HttpResponse(status=204, headers=NO_STORE_HEADERS)

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        return self.get(request, token)

    def head(self, request: HttpRequest, token: str) -> HttpResponse:
        # A HEAD is not a view of the ad (link checkers, previewers): the token is checked,
        # nothing is counted.
        _verified(IMPRESSION, token, count_refusal=False)
        return HttpResponse(status=204, headers=NO_STORE_HEADERS)


def _redirect(destination: str) -> HttpResponseRedirect:
    response = HttpResponseRedirect(destination)
    response["Cache-Control"] = NO_STORE
    response["Referrer-Policy"] = "no-referrer-when-downgrade"
    return response


class ClickView(HotPathView):
    """The click redirect: GET counts the click and redirects; HEAD redirects, counting
    nothing (link previewers send HEAD before, or instead of, a click)."""

    docs = ClickDocs
    name = "Click redirect"
    description = "Redirects to the creative's stored destination, counting the click once."

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        data = _verified(CLICK, token)
        destination = tracking.record_click(
            data, user_agent=request.META.get("HTTP_USER_AGENT"), now=timezone.now()
        )
        if destination is None:
            raise NotFound("This ad no longer exists.")
        return _redirect(destination)

    def head(self, request: HttpRequest, token: str) -> HttpResponse:
        data = _verified(CLICK, token, count_refusal=False)
        destination = tracking.click_destination(data.creative_id)
        if destination is None:
            raise NotFound("This ad no longer exists.")
        return _redirect(destination)


def document_head_and_options(endpoints: list[tuple]) -> list[tuple]:
    """Schema preprocessing hook: drf-spectacular leaves HEAD and OPTIONS out of every path;
    the hot path documents its own (HEAD counts nothing there, which clients need to know)."""
    extra = [
        (path, path_regex, method, callback)
        for path, path_regex, _, callback in endpoints
        if isinstance(getattr(callback, "cls", None), type)
        and issubclass(callback.cls, HotPathDocs)
        for method in ("HEAD", "OPTIONS")
    ]
    return [*endpoints, *extra]  # drf-spectacular drops the duplicates
