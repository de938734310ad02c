"""Ready-to-send public payloads: built once per version, served warm with no SQL.

Every anonymous read endpoint (articles, their lists, topics, authors, sponsors, insights,
countdowns) runs through :class:`CachedPayloadMixin`. Its ``dispatch`` answers before any of
DRF's work when this process (or the shared cache) holds a payload for the request's URL
whose versions are all still current and whose time has not run out; else DRF builds the
answer as usual, and the view marks it (:func:`mark`) with

- the **surrogate keys** of everything it shows (``article-12``, ``topic-3``, ``sponsor-2``,
  ``label-1``, ``countdown-awards``, and ``articles`` / ``topics`` / ``authors`` /
  ``sponsors`` for lists whose membership any save may change). The payload is stored with
  the version token of each key (``sponsors.versions.key_version``); a save bumps the
  versions of the keys it touches (``sponsors.receivers``), so the next request anywhere
  rebuilds exactly the payloads that show what changed, and the CDN purger is told the same
  keys;
- the **next scheduled change** that would alter it (an article going live, a sponsorship
  window opening or closing, a countdown's phase ending): the payload is never served after
  it, and ``Cache-Control: max-age`` never reaches past it.

Warm, a request costs no SQL, and no cache round trip either while no version was bumped
anywhere since this process last verified the payload (``sponsors.versions.watch``: bumps
are announced to every process); after a bump, one ``MGET`` of the payload's versions. The
answer carries a strong ``ETag`` made from those versions (no body is rendered to make it,
so ``If-None-Match`` answers ``304`` at once), ``Surrogate-Key`` and ``Cache-Tag``.
``HEAD`` answers the same headers as ``GET``.

Per-view values (the article's ``read_url``, a countdown's ``server_time`` and
``seconds_remaining``) are *holes*: the view writes :func:`hole` markers, the stored
payload keeps the bytes around them, and each answer fills them in (a few microseconds).

Saves never stampede: one request per URL builds (a lock in the shared cache); the others
keep serving the payload they hold if only its versions moved (for at most the build time,
``BUILD_LOCK_TTL`` if a builder dies), or wait for the builder's payload. A payload whose
time ran out is never served; requests wait for the one that builds it instead.

The views are anonymous (no session or token is looked at). Browsers asking for DRF's HTML
pages (with ``DEBUG``), and URLs with query parameters outside :data:`STORED_PARAMS` or
out of their bounds (``search``, dates, ``format``, ``page_size=101``), go through DRF
every time and are never stored.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseNotModified
from django.utils.http import parse_etags

from sponsors import versions

# Cache-Control max-age of a public payload (also bounded by its next scheduled change).
PUBLIC_MAX_AGE = 60
# How long a payload stays in the shared cache at most (its versions usually end it first).
SHARED_TTL = 3600
# Payloads one process keeps in memory (the oldest go first).
MEMO_SIZE = 2048
# A builder holds the lock of its URL at most this long (then another request builds).
BUILD_LOCK_TTL = 10
# A request that finds another building and holds nothing to serve waits this long for the
# builder's payload, then builds itself.
BUILD_WAIT = 2.0
POLL_INTERVAL = 0.01
# Headers of the built answer that every served copy repeats.
KEPT_HEADERS = ("Content-Type", "Vary", "Allow")

# Marks per-view values in a built payload; random per process, so no stored text can
# forge one (stored payloads carry their holes already split out).
_HOLE_TAG = f"@@hole-{secrets.token_hex(6)}"
_HOLE_RE = re.compile(rb'"' + re.escape(_HOLE_TAG.encode()) + rb':([a-z_]+):([^"@]*)@@"')

Filler = Callable[[HttpRequest, str, float], Any]
_fillers: dict[str, Filler] = {}


class RawJSON(bytes):
    """A filler's answer that is JSON already (written into the body as it is)."""


def register_hole(name: str, filler: Filler) -> None:
    """``filler(request, argument, now)`` gives the JSON value of hole ``name`` per answer
    (or :class:`RawJSON`, its encoded text)."""
    _fillers[name] = filler


def wants_holes(request: Any) -> bool:
    """True while a payload is being built for storing (views then write :func:`hole`)."""
    return bool(getattr(request, "payload_holes", False))


def hole(name: str, argument: object = "") -> str:
    """A marker the answer replaces with ``filler(request, argument, now)`` (a JSON value)."""
    return f"{_HOLE_TAG}:{name}:{argument}@@"


@dataclass(frozen=True, slots=True)
class PayloadInfo:
    """What a view says about its answer: see :func:`mark`."""

    keys: frozenset[str]
    expires: float | None  # POSIX seconds; None: only a save changes it
    private: bool
    max_age: int
    conditional: bool


def mark(
    response: HttpResponseBase,
    *,
    keys: Iterable[str],
    expires: datetime | None = None,
    private: bool = False,
    max_age: int = PUBLIC_MAX_AGE,
    conditional: bool = True,
) -> HttpResponseBase:
    """Make ``response`` (a 200 of a cached view) storable: its surrogate keys, its next
    scheduled change, and whether shared caches may keep it (``private``: the browser only).

    ``max_age=0`` answers ``no-store``; ``conditional=False`` sends no ``ETag`` and never a
    304 (for answers whose holes differ every time in what matters: the page's ads).
    """
    response.payload_info = PayloadInfo(  # type: ignore[attr-defined]  # read by dispatch below
        keys=frozenset(keys),
        expires=expires.timestamp() if expires is not None else None,
        private=private,
        max_age=max_age,
        conditional=conditional,
    )
    return response


@dataclass(frozen=True, slots=True)
class Payload:
    """One stored answer: the bytes around its holes, and what says it is still current."""

    names: tuple[str, ...]  # version names, in the order of ``tokens``
    tokens: tuple[str, ...]
    keys: str  # surrogate keys, space-separated
    expires: float | None
    private: bool
    max_age: int
    etag: str  # "" when the answer is not conditional
    parts: tuple[bytes, ...]  # len(holes) + 1 chunks
    holes: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, str], ...]

    def live_at(self, now: float) -> bool:
        return self.expires is None or now < self.expires


_memo: dict[str, Payload] = {}
# URL -> the ``versions.watch`` epoch at which its payload's versions were last verified.
_trusted: dict[str, int] = {}
_memo_lock = threading.Lock()


def forget_memo() -> None:
    """Drop the payloads this process holds (tests, benchmarks)."""
    with _memo_lock:
        _memo.clear()
        _trusted.clear()


def _remember(url: str, payload: Payload, epoch: int | None) -> None:
    with _memo_lock:
        _memo.pop(url, None)
        while len(_memo) >= MEMO_SIZE:
            oldest = next(iter(_memo))
            _memo.pop(oldest)
            _trusted.pop(oldest, None)
        _memo[url] = payload
        _trust(url, epoch)


def _trust(url: str, epoch: int | None) -> None:
    if epoch is None:
        _trusted.pop(url, None)
    else:
        _trusted[url] = epoch


# Part of every shared key: a release that changes what a stored payload holds uses new keys.
PAYLOAD_FORMAT = 2  # 2: article, topic, author and sponsor objects carry page_url


def _shared_key(url: str) -> str:
    # The page URLs' base is in the key: a deploy that moves it never serves the old links.
    base = getattr(settings, "SITE_PAGE_BASE_URL", "")
    digest = hashlib.sha256(f"{url} {base}".encode()).hexdigest()[:32]
    return f"payload:{PAYLOAD_FORMAT}:{digest}"


def _current(payload: Payload) -> bool:
    return tuple(versions.read_many(list(payload.names))) == payload.tokens


def _from_shared(url: str, now: float) -> Payload | None:
    epoch = versions.watch.current()  # before the versions are read
    try:
        payload: Payload | None = cache.get(_shared_key(url))
    except versions.REDIS_DOWN as exc:
        versions.breaker.trip(exc)
        return None
    if payload is None or not payload.live_at(now) or not _current(payload):
        return None
    _remember(url, payload, epoch)
    return payload


def _lock(url: str) -> bool:
    try:
        return bool(cache.add(_shared_key(url) + ":building", 1, BUILD_LOCK_TTL))
    except versions.REDIS_DOWN as exc:
        versions.breaker.trip(exc)
        return True  # no shared cache: build here


def _unlock(url: str) -> None:
    try:
        cache.delete(_shared_key(url) + ":building")
    except versions.REDIS_DOWN as exc:
        versions.breaker.trip(exc)


def _etag(url: str, tokens: Iterable[str], expires: float | None) -> str:
    digest = hashlib.sha256("|".join([url, *tokens, repr(expires)]).encode()).hexdigest()
    return f'"{digest[:27]}"'


def _payload(
    url: str, response: HttpResponse, info: PayloadInfo, tokens: list[str | None]
) -> Payload:
    names = tuple(_names(info.keys))
    body = response.content
    parts: list[bytes] = []
    holes: list[tuple[str, str]] = []
    start = 0
    for match in _HOLE_RE.finditer(body):
        parts.append(body[start : match.start()])
        holes.append((match.group(1).decode(), match.group(2).decode()))
        start = match.end()
    parts.append(body[start:])
    known = tuple(token or "" for token in tokens)
    return Payload(
        names=names,
        tokens=known,
        keys=" ".join(sorted(info.keys)),
        expires=info.expires,
        private=info.private,
        max_age=info.max_age,
        etag=_etag(url, known, info.expires) if info.conditional else "",
        parts=tuple(parts),
        holes=tuple(holes),
        headers=tuple((name, response[name]) for name in KEPT_HEADERS if response.has_header(name)),
    )


def _names(keys: Iterable[str]) -> list[str]:
    # Every payload also depends on CONTENT_ALL, which `invalidate_all()` bumps.
    return [versions.key_version(key) for key in sorted(keys)] + [versions.CONTENT_ALL]


def answer(request: HttpRequest, payload: Payload, now: float) -> HttpResponse:
    """The response for ``payload`` at ``now``: 304 if the client holds it, else the body."""
    max_age = payload.max_age
    if payload.expires is not None:
        max_age = min(max_age, math.floor(payload.expires - now))
    if max_age <= 0:
        cache_control = "no-store"
    else:
        cache_control = f"{'private' if payload.private else 'public'}, max-age={max_age}"
    headers = {
        "Cache-Control": cache_control,
        "Surrogate-Key": payload.keys,
        "Cache-Tag": payload.keys.replace(" ", ","),
    }
    if payload.etag:
        headers["ETag"] = payload.etag
    condition = request.META.get("HTTP_IF_NONE_MATCH")
    if condition and payload.etag and _matches(condition, payload.etag):
        response: HttpResponse = HttpResponseNotModified(headers=headers)
        for name, value in payload.headers:
            if name != "Content-Type":
                response[name] = value
        return response
    if payload.holes:
        chunks = [payload.parts[0]]
        for (name, argument), part in zip(payload.holes, payload.parts[1:], strict=True):
            value = _fillers[name](request, argument, now)
            if isinstance(value, RawJSON):
                chunks.append(value)
            else:
                chunks.append(json.dumps(value, separators=(",", ":")).encode())
            chunks.append(part)
        body = b"".join(chunks)
    else:
        body = payload.parts[0]
    headers.update(payload.headers)
    if request.method == "HEAD":
        response = HttpResponse(b"", headers=headers)
        response["Content-Length"] = str(len(body))
        return response
    return HttpResponse(body, headers=headers)


def _matches(condition: str, etag: str) -> bool:
    tags = parse_etags(condition)
    # If-None-Match compares weakly (RFC 9110 13.1.2): W/"x" matches "x".
    return "*" in tags or any(tag.removeprefix("W/") == etag for tag in tags)


# Query parameters whose values are bounded by what exists (slugs, kinds, page numbers):
# answers with any other (free text, dates, unknown names) are built every time and never
# stored, so no stream of distinct URLs can fill the shared cache (which holds the counters).
STORED_PARAMS = frozenset({"page", "page_size", "topic", "author", "kind", "sponsor"})
MAX_PAGE = 10_000
MAX_PAGE_SIZE = 100


def bypasses(request: HttpRequest, *, query: bool = True) -> bool:
    """True when ``request`` is built by DRF every time and never stored: not a GET or HEAD,
    DRF's HTML pages, or (``query``) query parameters that are not stored ones."""
    if request.method not in ("GET", "HEAD"):
        return True
    if settings.DEBUG and "text/html" in request.META.get("HTTP_ACCEPT", ""):
        return True
    if not query or not request.META.get("QUERY_STRING"):
        return False
    for name, values in request.GET.lists():
        if name not in STORED_PARAMS or len(values) != 1:
            return True
        if name in ("page", "page_size"):
            value = values[0]
            limit = MAX_PAGE if name == "page" else MAX_PAGE_SIZE
            if not value.isdigit() or not 1 <= int(value) <= limit or value != str(int(value)):
                return True
    return False


class CachedPayloadMixin:
    """Serves the view's marked answers from ready-to-send payloads (module docstring)."""

    # False for a view that marks its answers ``conditional=False``: the schema then
    # documents no ETag, If-None-Match or 304 for it.
    payload_conditional = True

    def payload_bypassed(self, request: HttpRequest) -> bool:
        """True when this request is built by DRF every time and never stored."""
        return bypasses(request)

    def payload_url(self, request: HttpRequest) -> str:
        """What a stored payload is kept under: the URL (a view whose holes read some of
        its parameters per answer leaves those out)."""
        return request.build_absolute_uri()

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        parent = super().dispatch  # type: ignore[misc]  # DRF's APIView.dispatch
        if self.payload_bypassed(request):
            return parent(request, *args, **kwargs)
        url = self.payload_url(request)
        now = time.time()
        held = _memo.get(url)
        if held is not None and held.live_at(now):
            epoch = versions.watch.current()  # before the versions are read
            if epoch is not None and _trusted.get(url) == epoch:
                return answer(request, held, now)  # no bump since it was verified
            if _current(held):
                _trust(url, epoch)
                return answer(request, held, now)
        else:
            held = None
        payload = _from_shared(url, now)
        if payload is not None:
            return answer(request, payload, now)
        if _lock(url):
            try:
                # A builder may have stored it between our look and our lock.
                payload = _from_shared(url, now)
                if payload is not None:
                    return answer(request, payload, now)
                return self._build(request, url, parent, args, kwargs)
            finally:
                _unlock(url)
        if held is not None:  # only its versions moved: serve it while the builder works
            return answer(request, held, now)
        deadline = time.monotonic() + BUILD_WAIT
        while time.monotonic() < deadline:
            time.sleep(POLL_INTERVAL)
            now = time.time()
            payload = _from_shared(url, now)
            if payload is not None:
                return answer(request, payload, now)
        return self._build(request, url, parent, args, kwargs)

    def _build(
        self,
        request: HttpRequest,
        url: str,
        parent: Callable[..., HttpResponseBase],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> HttpResponseBase:
        epoch = versions.watch.current()
        # Read before the database: if a save bumps it meanwhile, what we read may be old.
        before = versions.ensure_many([versions.CONTENT])[0]
        request.payload_holes = True  # type: ignore[attr-defined]  # read by wants_holes()
        response = parent(request, *args, **kwargs)
        info: PayloadInfo | None = getattr(response, "payload_info", None)
        if info is None or response.status_code != 200 or not isinstance(response, HttpResponse):
            return response
        if hasattr(response, "render"):
            response.render()
        if not response.get("Content-Type", "").startswith("application/json"):
            return response
        now = time.time()
        tokens = versions.ensure_many(_names(info.keys), timeout=versions.KEY_TIMEOUT)
        after = versions.read_many([versions.CONTENT])[0]
        payload = _payload(url, response, info, tokens)
        if before is not None and before == after and all(tokens):
            _remember(url, payload, epoch)
            ttl = SHARED_TTL if info.expires is None else math.ceil(info.expires - now)
            if ttl > 0:
                try:
                    cache.set(_shared_key(url), payload, min(ttl, SHARED_TTL))
                except versions.REDIS_DOWN as exc:  # served; the next process builds its own
                    versions.breaker.trip(exc)
        return answer(request, payload, now)


# --- The schema ------------------------------------------------------------------------------

_HEADERS = {
    "ETag": "Strong validator of the payload's versions: send it back in `If-None-Match`.",
    "Cache-Control": "`public` (the article detail: `private`), `max-age` at most 60 s and "
    "never past the next scheduled change (`no-store` in its last second).",
    "Surrogate-Key": "Space-separated keys of what the answer shows (`article-12 topic-3 "
    "sponsor-2 articles`): a CDN purges by them.",
    "Cache-Tag": "The same keys, comma-separated (Cloudflare's header).",
}


def document_conditional_gets(result: dict, generator: Any, request: Any, public: bool) -> dict:
    """Schema hook: the operations served from stored payloads document ``If-None-Match``,
    their ``304`` and the caching headers of their ``200`` and ``304``."""
    cached = {
        (path, method.lower())
        for path, _regex, method, callback in generator.endpoints
        if issubclass(getattr(callback, "cls", object), CachedPayloadMixin)
    }
    unconditional = {
        (path, method.lower())
        for path, _regex, method, callback in generator.endpoints
        if not getattr(getattr(callback, "cls", object), "payload_conditional", True)
    }
    all_headers = {
        name: {"schema": {"type": "string"}, "description": text} for name, text in _HEADERS.items()
    }
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            endpoint = (path, "get" if method == "head" else method)
            if endpoint not in cached:
                continue
            if endpoint in unconditional:  # no ETag: no conditional GET to document
                headers = {k: v for k, v in all_headers.items() if k != "ETag"}
                headers["Cache-Control"] = {
                    "schema": {"type": "string"},
                    "description": "`no-store`: every answer is its own.",
                }
                responses = operation.setdefault("responses", {})
                if "200" in responses:
                    responses["200"].setdefault("headers", {}).update(headers)
                continue
            headers = all_headers
            parameters = operation.setdefault("parameters", [])
            if not any(p.get("name") == "If-None-Match" for p in parameters):
                parameters.append(
                    {
                        "in": "header",
                        "name": "If-None-Match",
                        "schema": {"type": "string"},  # any length: no match is a 200
                        "description": "An `ETag` of an earlier answer: `304` if still current.",
                    }
                )
            responses = operation.setdefault("responses", {})
            if "200" in responses:
                responses["200"].setdefault("headers", {}).update(headers)
            responses.setdefault(
                "304",
                {
                    "description": "Not modified: the `ETag` sent is still current.",
                    "headers": headers,
                },
            )
    # HEAD (which drf-spectacular leaves out) answers the headers of GET, without a body.
    for path, operations in result.get("paths", {}).items():
        get = operations.get("get")
        if get is None or (path, "get") not in cached or "head" in operations:
            continue
        head = copy.deepcopy(get)
        head["operationId"] = f"{get['operationId']}_head"
        head["summary"] = f"{get.get('summary', '')} (headers only)".strip()
        for answer in head.get("responses", {}).values():
            answer.pop("content", None)
        operations["head"] = head
    return result
