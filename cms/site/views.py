"""The reference pages: home, article, topic, author, sponsor, insights and trending.

Each view asks the read API in-process (:func:`api_get`: the API view a URL resolves to,
called with a copy of the reader's request), so a page is rendered from the very payload
the API serves, stored and warm, and links with the ``page_url`` fields the API carries.
The article page answers from ``GET /api/v1/pages/articles/<slug>/`` with the reader's
anonymous viewer id (the first-party ``vid`` cookie) for the ads' frequency caps.
"""

from __future__ import annotations

import copy
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import resolve, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_safe
from rest_framework.renderers import JSONRenderer

from cms.api.errors import ServiceUnavailable
from cms.api.pages import article_page, promo_slot
from cms.models import Article
from sponsors.sponsorships import with_sponsor_block
from sponsors.tracking import VIEWER_RE

log = logging.getLogger(__name__)

VIEWER_COOKIE = "vid"
VIEWER_COOKIE_AGE = 365 * 24 * 3600
PAGE_SIZE = 12
TRENDING_LIMIT = 10

STATUS_TITLES = {
    400: "That address is not quite right",
    403: "This page is not open to you",
    404: "Page not found",
    503: "This page is unavailable right now",
}


@dataclass(frozen=True, slots=True)
class Answer:
    """What the API answered: its status and its JSON (None when it had no JSON body)."""

    status: int
    data: Any


def _subrequest(request: HttpRequest, path: str, query: dict[str, str]) -> HttpRequest:
    """A copy of ``request`` for ``path?query``: the same session, user and cookies (a staff
    preview is authorised as the API authorises it), asking for JSON and nothing else."""
    sub = copy.copy(request)
    encoded = urlencode(query)
    meta = dict(request.META)
    meta.update(PATH_INFO=path, QUERY_STRING=encoded, HTTP_ACCEPT="application/json")
    meta.pop("HTTP_IF_NONE_MATCH", None)  # the page needs a body, never a 304
    sub.META = meta
    sub.path = sub.path_info = path
    sub.GET = QueryDict(encoded)
    sub.method = "GET"
    return sub


def api_get(
    request: HttpRequest, name: str, kwargs: dict[str, Any] | None = None, **query: str
) -> Answer:
    """``GET`` the API route ``api:<name>`` in-process, as ``request``'s reader.

    The route's own view answers (with its stored payloads and its rules: staff-only
    ``at``, 404 for what is not live). An exception is logged and answered 503: a reader's
    page never fails with a traceback."""
    path = reverse(f"api:{name}", kwargs=kwargs)
    sub = _subrequest(request, path, {key: value for key, value in query.items() if value})
    try:
        match = resolve(path)
        response: Any = match.func(sub, *match.args, **match.kwargs)
        if hasattr(response, "render") and not getattr(response, "is_rendered", True):
            response.render()
        body = response.content
        data = json.loads(body) if body else None
    except Exception:  # the reader gets a readable page; the log keeps the traceback
        log.exception("Reference page: the API answer of %s failed", path)
        return Answer(status=503, data=None)
    return Answer(status=response.status_code, data=data)


def viewer_id(request: HttpRequest) -> tuple[str, bool]:
    """The reader's anonymous viewer id from the ``vid`` cookie, and whether it is new (a
    missing or malformed cookie gets a fresh random id)."""
    found = request.COOKIES.get(VIEWER_COOKIE, "")
    if VIEWER_RE.fullmatch(found):
        return found, False
    return secrets.token_urlsafe(16), True


def _remember_viewer(request: HttpRequest, response: HttpResponse, viewer: str) -> None:
    response.set_cookie(
        VIEWER_COOKIE,
        viewer,
        max_age=VIEWER_COOKIE_AGE,
        samesite="Lax",
        httponly=True,  # only the server reads it
        secure=request.is_secure(),
    )


def error_page(request: HttpRequest, status: int, message: str = "") -> HttpResponse:
    """A readable HTML page for ``status`` (never the API's JSON, never a traceback)."""
    title = STATUS_TITLES.get(status, STATUS_TITLES[503])
    context = {"status": status, "title": title, "message": message}
    response = render(request, "site/error.html", context, status=status)
    response["Cache-Control"] = "no-store"
    if status == 503:  # as the API's 503: when to try again
        response["Retry-After"] = str(ServiceUnavailable.retry_after)
    return response


def _failed(request: HttpRequest, answer: Answer) -> HttpResponse | None:
    """The error page when the API did not answer 200, else None."""
    if answer.status == 200:
        return None
    message = ""
    if isinstance(answer.data, dict):
        message = str(answer.data.get("detail") or answer.data.get("message") or "")
        errors = answer.data.get("errors") or {}
        if answer.status == 400 and isinstance(errors, dict) and errors:
            # Say what is wrong, field by field, as the API does ("at: Datetime has …").
            message = " ".join(
                f"{name}: {' '.join(str(text) for text in texts)}"
                for name, texts in errors.items()
                if isinstance(texts, list)
            )
    status = answer.status if answer.status in STATUS_TITLES else 503
    if status == 503:
        message = "Please try again in a moment."
    return error_page(request, status, message if status != 404 else "")


def _page_number(request: HttpRequest) -> tuple[int, str]:
    """The ``page`` asked for (1 when absent or malformed) and its API parameter ("" for
    the first page, so that page shares the API's default URL and its stored payload)."""
    raw = request.GET.get("page", "1")
    number = int(raw) if raw.isdigit() and 0 < len(raw) <= 5 and int(raw) > 0 else 1
    return number, (str(number) if number > 1 else "")


def _pager(request: HttpRequest, data: dict[str, Any], number: int) -> dict[str, Any]:
    """Previous and next links of a paginated list (the site's own URLs)."""

    def link(page: int) -> str:
        return request.path + (f"?page={page}" if page > 1 else "")

    return {
        "number": number,
        "previous": link(number - 1) if data.get("previous") else "",
        "next": link(number + 1) if data.get("next") else "",
    }


def site_promo(request: HttpRequest, topics: str = "") -> dict[str, Any]:
    """The site-wide promo strip of a listing page: the ads API's decision for the promo
    slot (``ARTICLE_PAGE_PROMO_SLOT``) for this reader; no ad when ad serving fails."""
    key = promo_slot()
    answer = api_get(
        request,
        "ads-decision",
        slots=key,
        topics=topics,
        viewer=getattr(request, "site_viewer", ""),
    )
    slots = answer.data.get("slots") if answer.status == 200 and answer.data else None
    return {"key": key, "ad": (slots or {}).get(key)}


def _plain(
    request: HttpRequest, template: str, context: dict[str, Any], *, topics: str = ""
) -> HttpResponse:
    context = {"promo": site_promo(request, topics), **context}
    response = render(request, template, context)
    # Each answer carries its own ad beacons (the promo strip): for this reader only.
    response["Cache-Control"] = "no-store, private"
    return response


def site_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Give every reference page the reader's ``vid`` cookie (set when missing)."""

    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        viewer, new = viewer_id(request)
        request.site_viewer = viewer  # type: ignore[attr-defined]  # read by the article view
        response = view(request, *args, **kwargs)
        if new:
            _remember_viewer(request, response, viewer)
        return response

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return require_safe(wrapped)  # pages are read: GET and HEAD, else 405


# --- Pages -------------------------------------------------------------------------------


def _listing(request: HttpRequest, name: str, template: str) -> HttpResponse:
    """A paginated list of article cards from the API route ``api:<name>``."""
    number, page = _page_number(request)
    answer = api_get(request, name, page=page, page_size=str(PAGE_SIZE))
    failed = _failed(request, answer)
    if failed is not None:
        return failed
    return _plain(
        request,
        template,
        {"articles": answer.data["results"], "pager": _pager(request, answer.data, number)},
    )


@site_page
def home(request: HttpRequest) -> HttpResponse:
    """The latest live articles, newest first, a page at a time."""
    return _listing(request, "article-list", "site/home.html")


def _group_page(
    request: HttpRequest, kind: str, slug: str, template: str, **extra: Any
) -> HttpResponse:
    """A topic's, author's or sponsor's page: its detail and its live articles."""
    detail = api_get(request, f"{kind}-detail", {"slug": slug})
    failed = _failed(request, detail)
    if failed is not None:
        return failed
    number, page = _page_number(request)
    articles = api_get(
        request, f"{kind}-articles", {"slug": slug}, page=page, page_size=str(PAGE_SIZE)
    )
    failed = _failed(request, articles)
    if failed is not None:
        return failed
    context = {
        kind: detail.data,
        "articles": articles.data["results"],
        "count": articles.data.get("count"),
        "pager": _pager(request, articles.data, number),
        **extra,
    }
    return _plain(request, template, context, topics=slug if kind == "topic" else "")


@site_page
def topic(request: HttpRequest, slug: str) -> HttpResponse:
    """A topic's live articles ("More from <topic> — View all")."""
    return _group_page(request, "topic", slug, "site/topic.html")


@site_page
def author(request: HttpRequest, slug: str) -> HttpResponse:
    """An author's live articles."""
    return _group_page(request, "author", slug, "site/author.html")


@site_page
def sponsor(request: HttpRequest, slug: str) -> HttpResponse:
    """A sponsor's profile and all its live content."""
    return _group_page(request, "sponsor", slug, "site/sponsor.html")


@site_page
def insights(request: HttpRequest) -> HttpResponse:
    """Industry insights: live partner content ("View all")."""
    return _listing(request, "insight-list", "site/insights.html")


@site_page
def trending_page(request: HttpRequest) -> HttpResponse:
    """Trending: the most-read live articles of recent days."""
    answer = api_get(request, "trending", limit=str(TRENDING_LIMIT))
    failed = _failed(request, answer)
    if failed is not None:
        return failed
    return _plain(request, "site/trending.html", {"trending": answer.data})


def _article_context(data: dict[str, Any]) -> dict[str, Any]:
    """The template's view of an article page answer: the slots by role, the promo strip
    apart, the sidebar's and the leaderboard's slots."""
    ads = data.get("ads") or {}
    available = bool(ads.get("available", False))
    slots = ads.get("slots") or {}
    promo_key = data.get("promo_slot") or ""

    def slot(key: str) -> dict[str, Any]:
        return {"key": key, "ad": slots.get(key) if available else None}

    return {
        "page": data,
        "article": data["article"],
        "promo": slot(promo_key) if promo_key else None,
        "leaderboard": slot("leaderboard"),
        "sidebar_slot": slot("article-sidebar"),
        "other_slots": [
            slot(key) for key in slots if key not in (promo_key, "leaderboard", "article-sidebar")
        ],
        "preview_at": data.get("at"),
    }


@site_page
def article(request: HttpRequest, slug: str) -> HttpResponse:
    """The article page, rendered from the page API's answer for this reader.

    The reader's viewer id goes along as ``viewer``; staff may add ``?at=<ISO time>`` to
    see the page at that moment (the API says who may: others get its 403, as a page)."""
    at = request.GET.get("at", "")
    viewer = request.site_viewer  # type: ignore[attr-defined]  # set by site_page
    answer = api_get(request, "page-article-detail", {"slug": slug}, at=at, viewer=viewer)
    failed = _failed(request, answer)
    if failed is not None:
        return failed
    response = render(request, "site/article.html", _article_context(answer.data))
    response["Cache-Control"] = "no-store, private"  # fresh ads and read beacon each view
    return response


def render_article_page(request: HttpRequest, article: Article, at: datetime) -> HttpResponse:
    """The article page of ``article`` (any status: drafts too) as it will look at ``at``,
    for a staff preview (the admin's): computed now, counting nothing (no read beacon; the
    ads' beacons and clicks are preview tokens)."""
    loaded = with_sponsor_block(Article.objects.filter(pk=article.pk).for_detail(), at=at).get()
    page = article_page(request, loaded, at=at)
    # The API's JSON shape exactly (times as ISO strings), as the reader's page gets it.
    data = json.loads(JSONRenderer().render(page.data))
    response = render(request, "site/article.html", _article_context(data))
    response["Cache-Control"] = "no-store, private"
    return response


@staff_member_required
def article_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff: the page of article ``pk`` (drafts too) at ``?at=<ISO time>``, by default at
    its go-live time (or now, when it has none or it is past). The admin links here."""
    found = get_object_or_404(Article, pk=pk)
    if not (
        request.user.has_perm("cms.view_article") or request.user.has_perm("cms.change_article")
    ):
        return error_page(request, 403, "You may not see articles.")
    raw = request.GET.get("at", "")
    try:
        at = parse_datetime(raw) if raw else None
    except ValueError:  # well-formed but impossible, such as month 13
        at = None
    if raw and (at is None or timezone.is_naive(at)):
        return error_page(request, 400, "Give `at` as an ISO 8601 time with its offset.")
    if at is None:
        at = max(found.published_at or timezone.now(), timezone.now())
    return render_article_page(request, found, at)
