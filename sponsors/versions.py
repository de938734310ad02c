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

Redis faults (:data:`breaker`): after a connection error or timeout, this process treats
Redis as down for ``ADS_REDIS_RETRY_AFTER`` seconds. Meanwhile :func:`read` answers None
(readers fall back to the database), :func:`current` answers a *local* version (a snapshot
built from the database, never stored in the shared cache, rebuilt after each of this
process's saves and at each retry), and :func:`bump` never raises: the bumps it cannot
write are owed. The first caller after the period probes Redis; when it answers, this
process first writes every version it owes **and** the inventory version (other processes
may have saved during the outage and may be gone, or still down, with their debts), then
uses Redis again. So no process goes back to serving a snapshot of a version from before
the outage without having replaced that version first.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from functools import cache as memoize
from typing import Any, Protocol

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django_redis.exceptions import ConnectionInterrupted
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)

# Redis not answering: refused, reset, or timed out (django-redis wraps them for the cache).
REDIS_DOWN: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    ConnectionInterrupted,
)

# The ad inventory: every save or delete of a slot, campaign, creative, countdown or topic.
INVENTORY = "ads:inventory:version"

# A lost countdown token only costs one database read: the next reader makes a new one.
COUNTDOWN_TIMEOUT = 24 * 3600

# Public payloads (articles, lists, sponsors, countdowns) depend on the versions of the
# surrogate keys they carry ("article-12", "topic-3", "articles", ...; see
# ``sponsors.receivers``). A lost token only costs a rebuild.
KEY_TIMEOUT = 7 * 24 * 3600
# Replaced with every invalidation: a payload built while it moved is served, not stored.
CONTENT = "content:version"
# Every public payload depends on it too: ``bump(CONTENT_ALL)`` drops them all (bulk loads).
CONTENT_ALL = "content:all"

# Surrogate keys of the collections whose membership a save may change.
ARTICLES = "articles"
TOPICS = "topics"
AUTHORS = "authors"
SPONSORS = "sponsors"


def surrogate(kind: str, ident: object) -> str:
    """The surrogate key of one object: ``surrogate("article", 12)`` is ``article-12``."""
    return f"{kind}-{ident}"


def countdown(slug: str) -> str:
    """The name of the version of the countdown with ``slug``."""
    return f"countdown:version:{slug}"


def key_version(key: str) -> str:
    """The version name of surrogate key ``key`` (a countdown's is the countdown version)."""
    if key.startswith("countdown-"):
        return countdown(key.removeprefix("countdown-"))
    return f"content:key:{key}"


def new_token() -> str:
    return secrets.token_hex(8)


def uses_redis() -> bool:
    """True when the default cache is Redis (then versions and counters live there)."""
    return "django_redis" in settings.CACHES["default"]["BACKEND"]


def hot_timeout() -> float:
    """Seconds the hot path (and the breaker's probe) waits on Redis before giving up."""
    return float(getattr(settings, "ADS_REDIS_TIMEOUT", 0.05))


def retry_after() -> float:
    """Seconds a process counts in the database after Redis failed, before trying it again."""
    return float(getattr(settings, "ADS_REDIS_RETRY_AFTER", 5.0))


def quick(connection: Any) -> Any:
    """Give a redis-py connection the hot path's short timeouts and no retry of its own.

    redis-py's retries (and a second attempt after a timeout) would multiply the wait on a
    hung Redis; the breaker decides instead.
    """
    connection.socket_timeout = connection.socket_connect_timeout = hot_timeout()
    connection.retry = Retry(NoBackoff(), 0)
    return connection


@memoize
def _redis_client() -> Any:
    from django_redis import get_redis_connection  # only importable with Redis configured

    return get_redis_connection("default")


@memoize
def _probe_client() -> redis.Redis:
    """A client on the same Redis with the hot path's timeouts: probes and catch-up bumps."""
    pool = _redis_client().connection_pool
    kwargs = {
        **pool.connection_kwargs,
        "socket_timeout": hot_timeout(),
        "socket_connect_timeout": hot_timeout(),
        "retry": Retry(NoBackoff(), 0),
    }
    return redis.Redis(
        connection_pool=redis.ConnectionPool(connection_class=pool.connection_class, **kwargs)
    )


def forget_clients() -> None:
    """Drop the memoised Redis clients (tests that point the cache at another Redis)."""
    _redis_client.cache_clear()
    _probe_client.cache_clear()


class Breaker:
    """Whether this process uses Redis now, or the database path (per process, thread-safe).

    Healthy, :meth:`down` reads one attribute (``open_until`` is 0.0): no clock, no lock.
    After :meth:`trip` it answers True until ``open_until`` (monotonic), then one thread
    probes Redis (the others keep using the database meanwhile); when Redis answers, the
    owed versions and the inventory version are bumped, ``on_close`` callbacks run (the
    counters hand back what they owe Redis), and the breaker closes.
    """

    def __init__(self) -> None:
        self.open_until = 0.0  # 0.0: closed
        # Names the local snapshots of an outage: raised at every trip and every owed bump of
        # the inventory, so a process rebuilds from the database after its own saves.
        self.epoch = 0
        self.owed: dict[str, int | None] = {}  # version name -> its timeout
        self.on_close: list[Callable[[], None]] = []
        self.trips = 0  # outages seen (closed -> open)
        self._lock = threading.Lock()

    def down(self) -> bool:
        if not self.open_until:
            return False
        if time.monotonic() < self.open_until:
            return True
        return not self._probe()

    def trip(self, exc: BaseException) -> None:
        with self._lock:
            first = not self.open_until
            self.open_until = time.monotonic() + retry_after()
            self.epoch += 1
            if first:
                self.trips += 1
        if first:  # one line per outage, no traceback: the outage is the news, not the stack
            log.warning(
                "Redis did not answer (%s: %s): counting in the database for %.0f s",
                type(exc).__name__,
                exc,
                retry_after(),
            )

    def owe(self, names: tuple[str, ...], timeout: int | None) -> bool:
        """Remember bumps that could not be written; False if the breaker closed meanwhile
        (then the caller writes them itself)."""
        with self._lock:
            if not self.open_until:
                return False
            for name in names:
                self.owed[name] = timeout
                if name == INVENTORY:
                    self.epoch += 1
            return True

    def _probe(self) -> bool:
        if not self._lock.acquire(blocking=False):
            return False  # another thread is probing: still down for this one
        try:
            if not self.open_until:
                return True
            if time.monotonic() < self.open_until:
                return False
            try:
                client = _probe_client()
                client.ping()
                owed = {INVENTORY: None, **self.owed}
                for name, timeout in owed.items():
                    client.set(redis_key(name), new_token(), ex=timeout)
                client.publish(redis_key(BUMPS), " ".join(owed))
                for callback in self.on_close:
                    callback()
            except REDIS_DOWN:
                self.open_until = time.monotonic() + retry_after()
                self.epoch += 1
                return False
            self.owed.clear()
            self.open_until = 0.0
        finally:
            self._lock.release()
        log.warning("Redis answers again: %d version(s) bumped, counting in Redis", len(owed))
        return True

    def succeeded(self) -> None:
        """Redis answered a caller that does not go through the breaker (``ads_flush``):
        if the breaker is open, probe now rather than at the end of its period."""
        if self.open_until:
            self.open_until = time.monotonic() - 1
            self.down()

    def reset(self) -> None:
        """Closed, owing nothing (tests)."""
        with self._lock:
            self.open_until = 0.0
            self.owed.clear()


breaker = Breaker()

# The channel every bump is announced on (the names bumped, space-separated).
BUMPS = "versions:bumps"


class Watch:
    """Whether this process may trust what it verified against the versions, without asking
    Redis again: per process, a thread subscribed to :data:`BUMPS`.

    :attr:`epoch` moves on with every bump announced (by any process, this one at once), and
    whenever the subscription is lost or made again. A reader that verified a payload's
    versions at epoch E may serve it again while :meth:`current` still answers E: no bump
    happened since (as far as this process can know: another process's bump is seen when
    its message arrives, well under a millisecond on one network). While the subscription
    is down :meth:`current` answers None and readers check the versions on every request.
    Without Redis (one process, local memory) the epoch moves with this process's bumps.
    """

    def __init__(self) -> None:
        self.epoch = 0
        self.healthy = False
        self._pid = 0
        self._lock = threading.Lock()

    def current(self) -> int | None:
        """The epoch to trust verified payloads under, or None (check them every time)."""
        if not uses_redis():
            return self.epoch
        if self._pid != os.getpid():
            self._start()
        return self.epoch if self.healthy else None

    def changed(self) -> None:
        with self._lock:
            self.epoch += 1

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self.healthy = False
        threading.Thread(target=self._run, name="versions-watch", daemon=True).start()

    def _run(self) -> None:
        pid = os.getpid()
        while self._pid == pid:
            try:
                self._listen()
            except (redis.exceptions.RedisError, OSError) as exc:
                # Lost: readers check the versions every time until it is back.
                self.healthy = False
                self.changed()
                log.warning("Version announcements lost (%s: %s)", type(exc).__name__, exc)
                time.sleep(retry_after())

    def _listen(self) -> None:
        pool = _redis_client().connection_pool
        kwargs = {**pool.connection_kwargs, "socket_timeout": None, "health_check_interval": 5}
        client = redis.Redis(
            connection_pool=redis.ConnectionPool(connection_class=pool.connection_class, **kwargs)
        )
        pubsub = client.pubsub()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
        try:
            pubsub.subscribe(redis_key(BUMPS))
            while True:  # the confirmation: from here on no announcement can be missed
                message = pubsub.get_message(timeout=5.0)
                if message is not None and message["type"] == "subscribe":
                    break
            self.changed()  # anything verified before the subscription may have been missed
            self.healthy = True
            while True:
                message = pubsub.get_message(timeout=5.0)
                if message is not None and message["type"] == "message":
                    self.changed()
        finally:
            self.healthy = False
            self.changed()
            pubsub.close()
            client.close()


watch = Watch()


def local_version() -> str:
    """The inventory version while Redis is down: this process's own, never shared."""
    return f"local:{breaker.epoch}"


def is_local(version: str) -> bool:
    return version.startswith("local:")


def redis_key(name: str) -> str:
    """The Redis key a version is stored under (the cache's prefix and key version)."""
    return cache.make_key(name)


def read(name: str) -> str | None:
    """The current token of ``name``, or None when there is none (first use, cache emptied)."""
    if not uses_redis():
        token: str | None = cache.get(name)
        return token
    if breaker.down():
        return None
    try:
        raw: bytes | None = _redis_client().get(redis_key(name))  # django-redis: not decoded
    except REDIS_DOWN as exc:
        breaker.trip(exc)
        return None
    if raw is None:
        return None
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:  # not ours (e.g. written by an older release): replace it
        _write(name, new_token(), timeout=None)
        return read(name)


def read_many(names: list[str]) -> list[str | None]:
    """The tokens of ``names`` in one round trip (None for a missing one, and for all of
    them while Redis is down)."""
    if not names:
        return []
    if not uses_redis():
        found = cache.get_many(names)
        return [found.get(name) for name in names]
    if breaker.down():
        return [None] * len(names)
    try:
        raw: list[bytes | None] = _redis_client().mget([redis_key(name) for name in names])
    except REDIS_DOWN as exc:
        breaker.trip(exc)
        return [None] * len(names)
    tokens: list[str | None] = []
    for value in raw:
        try:
            tokens.append(None if value is None else value.decode("ascii"))
        except UnicodeDecodeError:  # not ours: never equal to a token we recorded
            tokens.append(None)
    return tokens


def ensure_many(names: list[str], *, timeout: int | None = None) -> list[str | None]:
    """The tokens of ``names``, creating the missing ones (the first writer wins a race).

    None for a name whose token could not be read or written (Redis down): what was built
    must then not be stored under these tokens.
    """
    tokens = read_many(names)
    for index, token in enumerate(tokens):
        if token is None and not (uses_redis() and breaker.down()):
            candidate = new_token()
            if _write(names[index], candidate, timeout, only_if_missing=True):
                tokens[index] = candidate
            else:
                tokens[index] = read(names[index])
    return tokens


def current(name: str, *, timeout: int | None = None) -> str:
    """The token of ``name``, created when missing (the first writer wins a race).

    While Redis is down: :func:`local_version` (what this process built is served only here).
    """
    token = read(name)
    if token is None and uses_redis() and breaker.down():
        return local_version()
    if token is None:
        candidate = new_token()
        token = candidate if _write(name, candidate, timeout, only_if_missing=True) else read(name)
        if token is None and uses_redis() and breaker.down():
            return local_version()
        token = token or candidate
    return token


def create_if_missing(name: str, *, timeout: int | None = None) -> str | None:
    """Create a token for ``name`` if none exists; return it, or None if one appeared first.

    For readers that read the version, then the database: when a writer set a token in
    between, what they read may be old and must not be cached under it.
    """
    token = new_token()
    return token if _write(name, token, timeout, only_if_missing=True) else None


# Bumps of the inventory made in this process: its snapshot readers load their own saves
# on the request (read your writes) and other processes' in the background.
inventory_bumps = 0


def bump(*names: str, timeout: int | None = None) -> None:
    """Replace the tokens of ``names`` now and again when the current transaction commits.

    Never raises for Redis: while it is down the bumps are owed (see :class:`Breaker`), so
    saves succeed and their change is served here at once, everywhere once Redis answers.
    """
    global inventory_bumps
    if not names:
        return
    others = tuple(name for name in names if name != INVENTORY)
    if others:
        bump_now(*others, timeout=timeout)
        transaction.on_commit(lambda: bump_now(*others, timeout=timeout))
    if INVENTORY in names:
        inventory_bumps += 1
        # Now, its build reserved by this process: another process that sees this version
        # keeps serving its snapshot instead of building one from rows not yet committed.
        _announce_inventory(build=False)
        # Once per transaction, however many saves it makes: one new version, one build.
        pending = transaction.get_connection().run_on_commit  # (savepoints, callback, robust)
        if not any(entry[1] is _inventory_committed for entry in pending):
            transaction.on_commit(_inventory_committed)


class InventoryBuilder(Protocol):
    """What builds the snapshot of a committed inventory change in the process that made it
    (``SponsorsConfig.ready()`` registers ``sponsors.inventory_cache``'s)."""

    def reserve(self, version: str) -> bool:
        """Take ``version``'s build lock before the version is announced (so no other
        process starts the same build); False if it could not."""
        ...

    def build(self, version: str) -> None:
        """Build and store the snapshot of ``version`` (after a successful ``reserve``)."""
        ...


# The saver builds, not the readers: see InventoryBuilder.
after_inventory_commit: list[InventoryBuilder] = []


def _inventory_committed() -> None:
    _announce_inventory(build=True)


def _announce_inventory(*, build: bool) -> None:
    """A new inventory version: its build reserved by this process's builders, then written
    and announced, then (``build``) built by them."""
    version = new_token()
    reserved = []
    for builder in after_inventory_commit:
        try:
            if builder.reserve(version):
                reserved.append(builder)
        except Exception:  # the save goes on; readers build the snapshot instead
            log.exception("Could not reserve the inventory build of %s", version)
    try:
        _replace((INVENTORY,), None, token=version)
    finally:
        watch.changed()
    if not build:
        return
    for builder in reserved:
        try:
            builder.build(version)
        except Exception:  # the save has committed; readers build the snapshot instead
            log.exception("Could not build the inventory snapshot of %s", version)


def bump_now(*names: str, timeout: int | None = None) -> None:
    """Replace the tokens of ``names`` now only (:func:`bump` also does it at the commit),
    and announce it on :data:`BUMPS` (see :class:`Watch`)."""
    try:
        _replace(names, timeout)
    finally:
        # After the writes: a reader of this process that verified between them re-checks.
        # The other processes re-check when the announcement arrives.
        watch.changed()


def _replace(names: tuple[str, ...], timeout: int | None, *, token: str | None = None) -> None:
    if not uses_redis():
        for name in names:
            _write(name, token or new_token(), timeout)
        return
    for _ in range(3):  # again only if the breaker closed (or tripped) in between
        if breaker.down():
            if breaker.owe(names, timeout):
                return
            continue  # it closed meanwhile: write them
        try:
            pipe = _redis_client().pipeline(transaction=False)
            for name in names:
                pipe.set(redis_key(name), token or new_token(), ex=timeout)
            pipe.publish(redis_key(BUMPS), " ".join(names))
            pipe.execute()
            return
        except REDIS_DOWN as exc:
            breaker.trip(exc)  # then owed on the next turn
    log.warning("Could neither write nor owe the versions %s", names)


def _write(name: str, token: str, timeout: int | None, *, only_if_missing: bool = False) -> bool:
    if uses_redis():
        try:
            return bool(_redis_client().set(redis_key(name), token, nx=only_if_missing, ex=timeout))
        except REDIS_DOWN as exc:
            if not only_if_missing:
                raise  # bump() owes it
            breaker.trip(exc)
            return False
    if only_if_missing:
        return cache.add(name, token, timeout)
    cache.set(name, token, timeout)
    return True
