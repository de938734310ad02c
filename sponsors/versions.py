"""Cache versions: the tokens that say whether a cached snapshot may still be served.

A leaf module: it imports nothing of the project, so models, services and the hot path can
all depend on it without a circle.

A version is a short random token stored under a name in the shared cache. Whatever is
built from the database (the ad inventory snapshot, a countdown's snapshot) is cached under
a key that carries the version it was built for; a reader reads the version once per
request and builds every key of that request from it. A writer calls :func:`bump`, which
replaces the token at once and again when the transaction commits: the first write stops
this process serving what it holds, the second makes sure that no other process keeps a
snapshot it built from the rows as they were before the commit.

With Redis (``REDIS_URL``) tokens are stored raw, not pickled, so the hot path can read the
inventory version in the same ``MGET`` or script as its counters (``sponsors.counters``
reads :data:`INVENTORY` under :func:`redis_key`). Without Redis they live in the
local-memory cache.
"""

from __future__ import annotations

import secrets
from functools import cache as memoize
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

# The ad inventory: every save or delete of a slot, campaign, creative, countdown or topic.
INVENTORY = "ads:inventory:version"

# A lost countdown token only costs one database read: the next reader makes a new one.
COUNTDOWN_TIMEOUT = 24 * 3600


def countdown(slug: str) -> str:
    """The name of the version of the countdown with ``slug``."""
    return f"countdown:version:{slug}"


def new_token() -> str:
    return secrets.token_hex(8)


def uses_redis() -> bool:
    """True when the default cache is Redis (then versions and counters live there)."""
    return "django_redis" in settings.CACHES["default"]["BACKEND"]


@memoize
def _redis_client() -> Any:
    from django_redis import get_redis_connection  # only importable with Redis configured

    return get_redis_connection("default")


def redis_key(name: str) -> str:
    """The Redis key a version is stored under (the cache's prefix and key version)."""
    return cache.make_key(name)


def read(name: str) -> str | None:
    """The current token of ``name``, or None when there is none (first use, cache emptied)."""
    if not uses_redis():
        token: str | None = cache.get(name)
        return token
    raw: bytes | None = _redis_client().get(redis_key(name))  # django-redis: not decoded
    if raw is None:
        return None
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:  # not ours (e.g. written by an older release): replace it
        _write(name, new_token(), timeout=None)
        return read(name)


def current(name: str, *, timeout: int | None = None) -> str:
    """The token of ``name``, created when missing (the first writer wins a race)."""
    token = read(name)
    if token is None:
        candidate = new_token()
        token = candidate if _write(name, candidate, timeout, only_if_missing=True) else read(name)
        token = token or candidate
    return token


def create_if_missing(name: str, *, timeout: int | None = None) -> str | None:
    """Create a token for ``name`` if none exists; return it, or None if one appeared first.

    For readers that read the version, then the database: when a writer set a token in
    between, what they read may be old and must not be cached under it.
    """
    token = new_token()
    return token if _write(name, token, timeout, only_if_missing=True) else None


def bump(*names: str, timeout: int | None = None) -> None:
    """Replace the tokens of ``names`` now and again when the current transaction commits."""
    if not names:
        return

    def write() -> None:
        for name in names:
            _write(name, new_token(), timeout)

    write()
    transaction.on_commit(write)


def _write(name: str, token: str, timeout: int | None, *, only_if_missing: bool = False) -> bool:
    if uses_redis():
        return bool(_redis_client().set(redis_key(name), token, nx=only_if_missing, ex=timeout))
    if only_if_missing:
        return cache.add(name, token, timeout)
    cache.set(name, token, timeout)
    return True
