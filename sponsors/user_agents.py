"""Who sent a beacon, from its User-Agent: a person (billable), a server library, or a bot.

Every User-Agent gets one of three verdicts:

* ``BILLABLE``: browsers, in-app browsers and web views, and the HTTP stacks native apps
  send their beacons with (OkHttp, Dalvik, CFNetwork, Cronet, Alamofire, Dart);
* ``NON_BROWSER``: generic server-side HTTP libraries and tools (curl, python-requests,
  axios, Go-http-client, Java, Postman…): not billed, counted apart, never lost;
* ``BOT``: known bots, crawlers, link previewers, monitors and headless browsers, from
  crawlerdetect's maintained list plus a few additions of ours; and a missing agent.

The first rule that matches decides, in this order:

1. ``ADS_USER_AGENT_VERDICTS`` (and the older ``ADS_EXTRA_BOT_PATTERNS``, as ``bot``):
   case-insensitive substrings, never regexes, so a setting cannot match everything by
   accident or be slow; within the setting, ``bot`` beats ``non_browser`` beats
   ``billable`` (when in doubt, don't bill);
2. native app clients and in-app browsers: billable. They come before the rest because
   crawlerdetect calls some of them crawlers (``okhttp``, ``Dart/``, ``Cronet`` via
   ``cron``); the price is that a bot sending through an app stack (``FooBot/1.0
   CFNetwork/… Darwin/…``) bills unless the setting names it;
3. server libraries, by the name their default agent starts with: non-browser.
   crawlerdetect calls them crawlers too; anchoring at the start leaves a bot that merely
   mentions a library (``LinkedInBot/1.0 (… Apache-HttpClient …)``) to step 4;
4. our additions, then crawlerdetect: bot;
5. anything else: billable.

Only the first ``MAX_USER_AGENT_LENGTH`` characters are read, and each distinct (capped)
agent is classified once per process: the verdict is kept in an LRU of
``VERDICT_CACHE_SIZE`` entries, emptied when either setting changes.
"""

from __future__ import annotations

import enum
import functools
import logging
import re
from collections.abc import Iterable
from typing import Any

from crawlerdetect.crawlerdetect import get_compiled_exclusions_regex
from crawlerdetect.providers.crawlers import data as crawler_data
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

log = logging.getLogger(__name__)


class Verdict(enum.StrEnum):
    """What a User-Agent is, for counting: equal to its string value."""

    BILLABLE = "billable"
    NON_BROWSER = "non_browser"
    BOT = "bot"

    @property
    def label(self) -> str:
        """How reports name it."""
        return _LABELS[self]


BILLABLE = Verdict.BILLABLE
NON_BROWSER = Verdict.NON_BROWSER
BOT = Verdict.BOT

_LABELS = {BILLABLE: "billable", NON_BROWSER: "non-browser client", BOT: "bot"}

# Real agents are under 500 characters (the longest are in-app browsers such as TikTok's).
# Longer ones are read up to here: a cache miss costs time in proportion (up to ~2 ms for a
# hostile 512 characters, ~4 ms at 1,024), and no cache key is longer.
MAX_USER_AGENT_LENGTH = 512

# Distinct agents a process sees in a day are in the low thousands; the keys take at most
# about 2 MB even if every one were of the capped length.
VERDICT_CACHE_SIZE = 4096

# Native apps report their own renders through these stacks; none is a browser, all bill.
NATIVE_APP_PATTERNS = (
    r"\bokhttp/\d",  # OkHttp: Android apps, React Native on Android
    r"^Dalvik/\d",  # Android's HttpURLConnection
    r"\bCFNetwork/[\d.]+ Darwin/\d",  # URLSession (iOS, macOS): "MyApp/1.0 CFNetwork/… Darwin/…"
    r"\bAlamofire/\d",  # the common Swift wrapper around URLSession
    r"\bCronet/\d",  # Chromium's network stack embedded in Android apps
    r"^Dart/[\d.]+ \(dart:io\)",  # Flutter apps' default client
    r"; wv\)",  # Android WebView
    r"\bFB(?:AN|AV|_IAB)/",  # Facebook and Messenger in-app browsers
    r"\bInstagram \d",
    r"\bLinkedInApp\b",
    r"\bmusical_ly_|\bBytedanceWebview/",  # TikTok
)

# Generic server-side clients, by the name their default agent starts with.
SERVER_LIBRARY_PATTERNS = (
    # JavaScript
    r"^axios/",
    r"^node-fetch\b",
    r"^undici\b",
    r"^node$",  # Node's built-in fetch
    r"^got\b",
    r"^node-superagent/",
    r"^Deno/",
    r"^Bun/",
    # Python
    r"^python-(?:requests|httpx|urllib3?)/",  # also Python-urllib/
    r"^Python/[\d.]+ aiohttp/",
    r"^aiohttp/",
    r"^Python-httplib2/",
    r"^PycURL/",
    # command line and API tools
    r"^curl/",
    r"^libcurl/",
    r"^Wget/",
    r"^HTTPie/",
    r"^PostmanRuntime/",
    r"^insomnia/",
    # Go, JVM, Perl, PHP, Ruby, Rust
    r"^Go-http-client/",
    r"^Java/",
    r"^Java-http-client/",
    r"^Apache-Http(?:Async)?Client/",
    r"^(?:Jakarta )?Commons-HttpClient/",
    r"^libwww-perl/",
    r"^HTTP-Tiny/",
    r"^GuzzleHttp/",
    r"^PHP/",
    r"^Symfony HttpClient\b",
    r"^Ruby\b",
    r"^Faraday v",
    r"^http\.rb/",
    r"^rest-client/",
    r"^reqwest/",
)

# Bots crawlerdetect misses (checked by the tests): what the project's old list caught.
PROJECT_BOT_PATTERNS = (
    r"pagespeed",  # Google-PageSpeed; crawlerdetect knows only "Pagespeed/"
    r"preview",  # link previewers it does not name
    r"monitor",  # monitors it does not name (it knows "monitoring" and many by name)
    r"synthetics",  # synthetic monitoring, e.g. "Datadog/Synthetics"
)


def _any_of(patterns: Iterable[str]) -> re.Pattern[str]:
    alternatives = [f"(?:{p})" for p in patterns]
    # An empty alternation would match everything; "(?!)" matches nothing.
    return re.compile("|".join(alternatives) or "(?!)", re.IGNORECASE)


_NATIVE_APP = _any_of(NATIVE_APP_PATTERNS)
_SERVER_LIBRARY = _any_of(SERVER_LIBRARY_PATTERNS)
_PROJECT_BOTS = _any_of(PROJECT_BOT_PATTERNS)


def verdict(user_agent: str | None) -> Verdict:
    """The verdict for a User-Agent header (``None`` or blank: a bot)."""
    if not user_agent:
        return BOT
    # A slice as long as the string is the string itself: no copy on the usual path.
    return _classify(user_agent[:MAX_USER_AGENT_LENGTH])


@functools.lru_cache(maxsize=VERDICT_CACHE_SIZE)
def _classify(agent: str) -> Verdict:
    if not agent.strip():
        return BOT
    for outcome, pattern in _overrides():
        if pattern.search(agent):
            return outcome
    if _NATIVE_APP.search(agent):
        return BILLABLE
    if _SERVER_LIBRARY.search(agent):
        return NON_BROWSER
    if _PROJECT_BOTS.search(agent) or is_crawler(agent):
        return BOT
    return BILLABLE


# --- Settings ---------------------------------------------------------------------------


def _configured() -> dict[Verdict, list[str]]:
    """The settings' substrings by verdict; ImproperlyConfigured if they are mistaken."""
    configured: Any = getattr(settings, "ADS_USER_AGENT_VERDICTS", None) or {}
    if not isinstance(configured, dict):
        raise ImproperlyConfigured("ADS_USER_AGENT_VERDICTS must be a dict of lists.")
    unknown = sorted(set(configured) - set(Verdict))
    if unknown:
        raise ImproperlyConfigured(
            f"ADS_USER_AGENT_VERDICTS: unknown verdict(s) {unknown}; "
            f"use {[v.value for v in Verdict]}."
        )
    substrings = {
        outcome: _substrings(
            configured.get(outcome.value, ()), f"ADS_USER_AGENT_VERDICTS[{outcome.value!r}]"
        )
        for outcome in Verdict
    }
    substrings[BOT] += _substrings(
        getattr(settings, "ADS_EXTRA_BOT_PATTERNS", None) or (), "ADS_EXTRA_BOT_PATTERNS"
    )
    return substrings


def settings_error() -> str | None:
    """What is wrong with the verdict settings, or None (the system check reports it)."""
    try:
        _configured()
    except ImproperlyConfigured as exc:
        return str(exc)
    return None


@functools.cache
def _overrides() -> tuple[tuple[Verdict, re.Pattern[str]], ...]:
    """The settings' substrings, compiled: bot first, then non_browser, then billable.

    A mistaken setting is reported by ``manage.py check`` (``sponsors.E001``); at run time
    it is logged and left out, so beacons keep answering with the built-in rules.
    """
    try:
        substrings = _configured()
    except ImproperlyConfigured as exc:
        log.error("User-Agent verdict settings ignored: %s", exc)
        return ()
    return tuple(
        (outcome, re.compile("|".join(map(re.escape, substrings[outcome])), re.IGNORECASE))
        for outcome in (BOT, NON_BROWSER, BILLABLE)
        if substrings[outcome]
    )


def _substrings(value: Any, name: str) -> list[str]:
    # A bare string would be read as a list of one-letter patterns matching almost anything.
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ImproperlyConfigured(f"{name} must be a list of strings.")
    if not all(isinstance(item, str) and item for item in value):
        raise ImproperlyConfigured(f"{name} must hold non-empty strings only.")
    return list(value)


@receiver(setting_changed)
def _forget_verdicts(*, setting: str, **kwargs: Any) -> None:
    if setting in ("ADS_USER_AGENT_VERDICTS", "ADS_EXTRA_BOT_PATTERNS"):
        _overrides.cache_clear()
        _classify.cache_clear()


# --- crawlerdetect ----------------------------------------------------------------------


def is_crawler(user_agent: str) -> bool:
    """What ``CrawlerDetect().is_crawler(user_agent)`` answers, 5-20 times faster.

    crawlerdetect strips the browser words of its exclusion list, then searches one
    alternation of ~1,460 patterns, each tried at every position: about 15 µs per remaining
    character (a new Chrome agent: ~0.3 ms, a long in-app one: several ms), and its generic
    ``[a-z0-9\\-_]*(bot|crawl|…)`` backtracks over long words (one 1,000-letter word: ~0.2 s).
    Here: the same lists and the same two steps, with the patterns grouped by their first
    character behind a lookahead (a position tries in full only the group of its own
    character), the ``^`` patterns tried once, at the start, and the generic pattern without
    its prefix (it matches somewhere exactly when ``bot|crawl|…`` does). The tests check the
    answers against CrawlerDetect's. Compiled once per process, on first use (~50 ms).
    Compiled patterns keep no state, so threads share them (``CrawlerDetect.is_crawler``
    stores each match on its instance: shared between threads, only its answer is safe).
    """
    agent = _EXCLUSIONS.sub("", user_agent.strip())
    if not agent:
        return False
    anchored, anywhere = _crawler_patterns()
    return anchored.match(agent) is not None or anywhere.search(agent) is not None


_EXCLUSIONS: re.Pattern[str] = get_compiled_exclusions_regex()

# crawlerdetect's catch-all; "[a-z0-9\-_]*" only widens a match to the left, never adds one.
_GENERIC_PREFIX = r"[a-z0-9\-_]*"


@functools.cache
def _crawler_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(patterns anchored at the start, the rest grouped by first character)."""
    anchored: list[str] = []
    by_first: dict[str, list[str]] = {}
    other: list[str] = []
    patterns: list[str] = crawler_data
    for pattern in patterns:
        if _has_top_level_alternation(pattern):
            other.append(pattern)
            continue
        pattern = pattern.removeprefix(_GENERIC_PREFIX)
        if pattern.startswith("^"):
            anchored.append(pattern[1:])
            continue
        first = _first_literal(pattern)
        if first is None:
            other.append(pattern)
        else:
            by_first.setdefault(first.lower(), []).append(pattern)
    groups = [f"(?=[{re.escape(first)}])(?:{'|'.join(group)})" for first, group in by_first.items()]
    return _any_of(anchored), _any_of([*groups, *other])


def _first_literal(pattern: str) -> str | None:
    """The character every match of ``pattern`` starts with, if it is plain to see."""
    if pattern[0] == "\\":
        first, rest = pattern[1:2], pattern[2:3]
        if not first or first.isalnum():  # \d, \w, \b…: a class or an assertion
            return None
    elif pattern[0].isalnum() or pattern[0] == " ":
        first, rest = pattern[0], pattern[1:2]
    else:
        return None
    return None if rest in ("*", "?", "{") else first  # "a*…" may start with anything


def _has_top_level_alternation(pattern: str) -> bool:
    depth, in_class, i = 0, False, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            return True
        i += 1
    return False
