"""CDN purge hooks: tell a shared cache which surrogate keys a save invalidated.

Every public payload answers with the surrogate keys of what it shows (``Surrogate-Key``
and ``Cache-Tag`` headers: ``article-12 topic-3 sponsor-2 articles``). After a save commits,
``sponsors.receivers`` calls the configured purger once with the keys the save invalidated,
so a CDN drops exactly the answers that carry one of them.

``CDN_PURGER`` chooses the purger:

- empty or ``none`` (default): nothing is sent;
- ``varnish``: one HTTP request per URL of ``CDN_PURGE_URLS`` with the method
  ``CDN_PURGE_METHOD`` (``PURGE``, default, or ``BAN``) and the keys, space-separated, in
  the header ``CDN_PURGE_HEADER`` (default ``xkey-purge``, what Varnish's xkey module reads);
- a dotted path to a class (``myproject.cdn.FastlyPurger``) built with no arguments and
  called as ``purge(keys)``.

A purge that fails is logged and never fails the save: the cached answers still expire by
their ``max-age`` (at most 60 s, and never past the next scheduled change).
"""

from __future__ import annotations

import logging
import urllib.request
from collections.abc import Sequence
from functools import cache as memoize
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)


class Purger(Protocol):
    def purge(self, keys: Sequence[str]) -> None: ...


class NoPurger:
    """The default: no CDN to tell."""

    def purge(self, keys: Sequence[str]) -> None:
        return None


class VarnishPurger:
    """HTTP ``PURGE`` (or ``BAN``) with the keys in a header, to each Varnish in ``urls``."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        method: str = "PURGE",
        header: str = "xkey-purge",
        timeout: float = 2.0,
    ) -> None:
        self.urls = list(urls)
        self.method = method
        self.header = header
        self.timeout = timeout

    def purge(self, keys: Sequence[str]) -> None:
        if not keys:
            return
        value = " ".join(keys)
        for url in self.urls:
            request = urllib.request.Request(url, method=self.method, headers={self.header: value})
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                    answer.read()
            except OSError as exc:  # refused, timed out, or an HTTP error status
                log.warning("CDN purge of %d key(s) at %s failed: %s", len(keys), url, exc)


def settings_error() -> str | None:
    """What is wrong with the CDN settings, or None (``manage.py check``: sponsors.E002)."""
    name = (getattr(settings, "CDN_PURGER", "") or "none").strip()
    if name.lower() == "none":
        return None
    if name.lower() == "varnish":
        if not settings.CDN_PURGE_URLS:
            return "CDN_PURGER=varnish needs CDN_PURGE_URLS (the Varnish servers to purge)."
        if settings.CDN_PURGE_METHOD not in ("PURGE", "BAN"):
            return f"CDN_PURGE_METHOD must be PURGE or BAN, not {settings.CDN_PURGE_METHOD!r}."
        return None
    try:
        import_string(name)
    except ImportError as exc:
        return f"CDN_PURGER={name!r} is neither none, varnish nor an importable class: {exc}"
    return None


def build_purger() -> Purger:
    """The purger the settings name (see the module docstring)."""
    name = (getattr(settings, "CDN_PURGER", "") or "none").strip()
    if name.lower() == "none":
        return NoPurger()
    if name.lower() == "varnish":
        return VarnishPurger(
            settings.CDN_PURGE_URLS,
            method=settings.CDN_PURGE_METHOD,
            header=settings.CDN_PURGE_HEADER,
            timeout=settings.CDN_PURGE_TIMEOUT,
        )
    purger: Purger = import_string(name)()
    return purger


@memoize
def get_purger() -> Purger:
    """The configured purger, built once per process (``get_purger.cache_clear()`` in tests)."""
    return build_purger()


def purge(keys: Sequence[str]) -> None:
    """Send ``keys`` to the configured purger; never raises."""
    try:
        get_purger().purge(keys)
    except Exception:  # a custom purger's bug must not fail a save that has committed
        log.exception("CDN purger failed for %d key(s)", len(keys))
