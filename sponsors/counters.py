"""Delivery counters: where tracking writes events and where caps and pacing read them.

An event is an impression, a click or an article read. It is either counted (billable, once
per served ad or page view: its receipt makes a replay count nothing) or counted apart under
its reason (replayed, expired or invalid token, bot, non-browser client, preview, unknown
creative, slot or article). Counts are kept per UTC hour (``sponsors.models.counting``).

Two stores with one interface, chosen by configuration:

``RedisCounters`` (``REDIS_URL`` set; production)
    One Lua script per event, atomic in Redis: ``SET NX`` of the event's receipt (a replay
    stops here and is counted apart as "replayed"), ``HSET`` of the event into the pending
    hash under its receipt, and for billable impressions ``INCR`` of the campaign's lifetime
    total (pacing) and of the viewer's cap key for the current hour or day (with a TTL).
    Events counted apart are one ``HINCRBY`` of their reason's hourly field. ``flush()``
    moves the pending hash to the database exactly once (see :func:`flush_redis`): the
    receipts of its events are inserted there too, so an event that Redis counted again
    after losing its receipts (a restart without persistence) counts as "replayed", not twice.

``DatabaseCounters`` (no Redis; development, single process)
    Each event inserts its receipt (unique key: a replay inserts nothing) and upserts its
    hour's row with ``INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n`` in one
    transaction, exact under concurrency on SQLite and PostgreSQL. Campaign totals (pacing)
    and viewer caps are kept beside in the local cache, campaign totals seeded from the
    database on a miss, so a warm decision still makes no SQL query.

Both read and write the same numbers: the impression that a beacon counts is the one that
the next decision's pacing and cap checks see.

Redis faults: ``RedisCounters`` waits on Redis ``ADS_REDIS_TIMEOUT`` seconds at most (50 ms),
retries once only a connection that broke (never a timeout), and on a failure trips
``versions.breaker``: for ``ADS_REDIS_RETRY_AFTER`` seconds this process counts through its
``DatabaseCounters`` (the same receipts, in the database, so an event counted on either side
of the switch counts once) with caps and pacing in local memory, seeded from the database.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket
import struct
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache as memoize
from typing import TYPE_CHECKING, Any, Protocol, TypedDict
from zoneinfo import ZoneInfo

import hiredis
import redis
from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.db import IntegrityError, connection, transaction
from django.db.models import Model, Sum
from django.db.models.functions import TruncDate

from cms.models import Article
from sponsors import versions
from sponsors.decision import DAY, HOUR, PERIOD_SECONDS
from sponsors.models import (
    ArticleReadCounter,
    Campaign,
    Creative,
    DailyDeliveryCounter,
    DailyUncountedCounter,
    DeliveryCounter,
    Event,
    FlushedBatch,
    Reason,
    Slot,
    TrackingReceipt,
    UncountedCounter,
)
from sponsors.versions import REDIS_DOWN, breaker, uses_redis

if TYPE_CHECKING:
    from redis.commands.core import Script

log = logging.getLogger(__name__)

IMPRESSION = Event.IMPRESSION.value
CLICK = Event.CLICK.value
READ = Event.READ.value
REASONS = tuple(Reason.values)

PENDING_KEY = "ads:counts:pending"
PROCESSING_PREFIX = "ads:counts:processing:"
DELIVERED_PREFIX = "ads:delivered:"  # + campaign id: its billable impressions, all time
SEEDED_KEY = "ads:delivered:seeded"  # set once the totals were seeded from the database
SEEDING_LOCK_KEY = "ads:delivered:seeding"
# Fields of the pending hash: a counted event under its receipt, or an hourly reason count.
EVENT_FIELD = "e|"
APART_FIELD = "u|"


def receipt_ttl(kind: str | None = None) -> int:
    """How long an event's receipt is kept: as long as a token of its kind is accepted (any
    kind's, the longest, when none is given). A beacon's is kept hours, a click's days."""
    ages = {IMPRESSION: beacon_max_age, CLICK: click_max_age, READ: read_max_age}
    if kind in ages:
        return ages[kind]() + 60
    return max(age() for age in ages.values()) + 60


def beacon_max_age() -> int:
    return int(getattr(settings, "ADS_BEACON_MAX_AGE", 6 * 3600))


def click_max_age() -> int:
    return int(getattr(settings, "ADS_CLICK_MAX_AGE", 7 * 24 * 3600))


def read_max_age() -> int:
    return int(getattr(settings, "ADS_READ_MAX_AGE", 6 * 3600))


def hour_of(at: datetime) -> int:
    """The UTC hour of ``at``, as POSIX seconds of its start."""
    return int(at.timestamp()) // 3600 * 3600


def hour_start(hour: int) -> datetime:
    return datetime.fromtimestamp(hour, UTC)


@dataclass(frozen=True, slots=True)
class TrackedEvent:
    """One impression, click or read, as tracking verified it.

    ``reason`` None: billable, counted once by its receipt. Otherwise it is counted apart
    under that reason (``sponsors.models.Reason``) and never billed, cap or pacing.
    """

    kind: str  # IMPRESSION, CLICK or READ
    receipt_id: str  # the placement (ads) or the page view (reads) the token names
    at: datetime
    creative_id: int = 0
    slot_id: int = 0
    campaign_id: int = 0
    article_id: int = 0
    cap_period: str = ""  # HOUR, DAY or "" when the campaign has no cap
    viewer: str | None = None
    reason: str | None = None

    @property
    def billable_impression(self) -> bool:
        return self.kind == IMPRESSION and self.reason is None

    @property
    def hour(self) -> int:
        return hour_of(self.at)

    @property
    def receipt(self) -> str:
        return f"{self.kind}:{self.receipt_id}"

    def apart(self, reason: str) -> ApartKey:
        """Where this event is counted apart under ``reason``."""
        return (self.hour, self.kind, reason, self.creative_id, self.slot_id, self.article_id)


# (hour, kind, reason, creative id, slot id, article id): one hourly count of events apart.
ApartKey = tuple[int, str, str, int, int, int]


def cap_key(campaign_id: int, viewer: str, period: str, at: datetime | float) -> str:
    """The key of the viewer's impressions of a campaign in the hour or day of ``at``."""
    ts = at if isinstance(at, float) else at.timestamp()
    bucket = int(ts // PERIOD_SECONDS[period])
    return f"ads:cap:{campaign_id}:{viewer}:{period}:{bucket}"


def _apart_field(key: ApartKey) -> str:
    return APART_FIELD + "|".join(str(part) for part in key)


def _event_value(event: TrackedEvent) -> str:
    return (
        f"{event.hour}|{event.creative_id}|{event.slot_id}|{event.article_id}|{event.campaign_id}"
    )


# ---------------------------------------------------------------------------------------------
# Database writes shared by both stores


def _upsert(
    model: type[Model], keys: tuple[str, ...], columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    """Add counts to rows of ``model``, creating them as needed, in one statement per 100.

    ``rows`` are (*keys, *counts). ``INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n``
    is atomic per row on both SQLite and PostgreSQL. Rows are sorted so concurrent writers
    lock them in one order.
    """
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    updates = ", ".join(f"{qn(c)} = {table}.{qn(c)} + excluded.{qn(c)}" for c in columns)
    names = ", ".join(qn(c) for c in (*keys, *columns))
    conflict = ", ".join(qn(c) for c in keys)
    placeholders = "(" + ", ".join(["%s"] * (len(keys) + len(columns))) + ")"
    ordered = sorted(rows, key=lambda row: row[: len(keys)])
    with connection.cursor() as cursor:
        for start in range(0, len(ordered), 100):
            chunk = ordered[start : start + 100]
            cursor.execute(
                f"INSERT INTO {table} ({names}) VALUES {', '.join([placeholders] * len(chunk))} "
                f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}",
                [value for row in chunk for value in row],
            )


def display_zone() -> ZoneInfo:
    """The time zone that reports cut days by (``TIME_ZONE``)."""
    return _zone(settings.TIME_ZONE)


@functools.lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@functools.lru_cache(maxsize=4096)
def _local_day(hour: int, zone: str) -> date:
    return hour_start(hour).astimezone(_zone(zone)).date()


def local_day(hour: int) -> date:
    """The display zone's date of the counted hour ``hour`` (its start): the daily rollups'
    day, and the day the reports put that hour in."""
    return _local_day(hour, settings.TIME_ZONE)


def upsert_hourly_delivery(counts: Mapping[tuple[int, int, int], tuple[int, int]]) -> None:
    """Add billable (impressions, clicks) per (hour, creative id, slot id) to the hourly
    rows only (the benchmark's naive endpoint; the product writes both, below)."""
    rows = [(hour_start(h), c, s, i, k) for (h, c, s), (i, k) in counts.items()]
    _upsert(DeliveryCounter, ("hour", "creative_id", "slot_id"), ("impressions", "clicks"), rows)


def upsert_delivery(counts: Mapping[tuple[int, int, int], tuple[int, int]]) -> None:
    """Add billable (impressions, clicks) per (hour, creative id, slot id), to the hourly
    rows and to their local day's rollup (call it inside a transaction: both or neither)."""
    upsert_hourly_delivery(counts)
    daily: dict[tuple[date, int, int], list[int]] = {}
    for (h, c, s), (i, k) in counts.items():
        sums = daily.setdefault((local_day(h), c, s), [0, 0])
        sums[0] += i
        sums[1] += k
    rows = [(*key, i, k) for key, (i, k) in daily.items()]
    _upsert(
        DailyDeliveryCounter, ("day", "creative_id", "slot_id"), ("impressions", "clicks"), rows
    )


def upsert_reads(counts: Mapping[tuple[int, int], int]) -> None:
    """Add reads per (hour, article id)."""
    rows = [(hour_start(h), a, n) for (h, a), n in counts.items()]
    _upsert(ArticleReadCounter, ("hour", "article_id"), ("reads",), rows)


APART_KEYS = ("event", "reason", "creative_id", "slot_id", "article_id")


def upsert_apart(counts: Mapping[ApartKey, int]) -> None:
    """Add counts of events counted apart, per ``ApartKey``, hourly and to the daily rollup."""
    rows = [(hour_start(h), *rest, n) for (h, *rest), n in counts.items() if n]
    _upsert(UncountedCounter, ("hour", *APART_KEYS), ("count",), rows)
    daily: Counter[tuple[Any, ...]] = Counter()
    for (h, *rest), n in counts.items():
        if n:
            daily[(local_day(h), *rest)] += n
    _upsert(
        DailyUncountedCounter,
        ("day", *APART_KEYS),
        ("count",),
        [(*key, n) for key, n in daily.items()],
    )


def rebuild_daily(
    *,
    hourly: type[Model] = DeliveryCounter,
    daily: type[Model] = DailyDeliveryCounter,
    hourly_apart: type[Model] = UncountedCounter,
    daily_apart: type[Model] = DailyUncountedCounter,
    zone: ZoneInfo | None = None,
    batch_size: int = 2000,
) -> tuple[int, int]:
    """Rebuild the daily rollups from the hourly rows, by the display zone's days (after a
    change of ``TIME_ZONE``; the migration that adds them passes its historical models).
    Run it inside a transaction. Returns the numbers of delivery and uncounted day rows."""
    zone = zone or display_zone()
    daily._default_manager.all().delete()
    daily_apart._default_manager.all().delete()
    delivery = (
        hourly._default_manager.annotate(day=TruncDate("hour", tzinfo=zone))
        .values("day", "creative_id", "slot_id")
        .annotate(n_impressions=Sum("impressions"), n_clicks=Sum("clicks"))
        .order_by()
    )
    made = _insert_in_batches(
        daily,
        (
            daily(
                day=row["day"],
                creative_id=row["creative_id"],
                slot_id=row["slot_id"],
                impressions=row["n_impressions"],
                clicks=row["n_clicks"],
            )
            for row in delivery.iterator(chunk_size=batch_size)
        ),
        batch_size,
    )
    apart = (
        hourly_apart._default_manager.annotate(day=TruncDate("hour", tzinfo=zone))
        .values("day", *APART_KEYS)
        .annotate(n=Sum("count"))
        .order_by()
    )
    made_apart = _insert_in_batches(
        daily_apart,
        (daily_apart(count=row.pop("n"), **row) for row in apart.iterator(chunk_size=batch_size)),
        batch_size,
    )
    return made, made_apart


def _insert_in_batches(model: type[Model], objects: Iterable[Model], size: int) -> int:
    made, batch = 0, []
    for obj in objects:
        batch.append(obj)
        if len(batch) >= size:
            model._default_manager.bulk_create(batch)
            made, batch = made + len(batch), []
    model._default_manager.bulk_create(batch)
    return made + len(batch)


def insert_receipts(keys: Iterable[str], *, at: datetime) -> set[str]:
    """Insert these receipts; return the ones that were new (the others were counted before).

    ``INSERT … ON CONFLICT DO NOTHING RETURNING``: exact when several writers race, on
    SQLite (3.35+) and PostgreSQL alike.
    """
    qn = connection.ops.quote_name
    table = qn(TrackingReceipt._meta.db_table)
    ordered = sorted(set(keys))
    created = connection.ops.adapt_datetimefield_value(at)
    inserted: set[str] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            cursor.execute(
                f"INSERT INTO {table} ({qn('key')}, {qn('created_at')}) VALUES "
                + ", ".join(["(%s, %s)"] * len(chunk))
                + f" ON CONFLICT ({qn('key')}) DO NOTHING RETURNING {qn('key')}",
                [value for key in chunk for value in (key, created)],
            )
            inserted.update(row[0] for row in cursor.fetchall())
    return inserted


def database_totals(campaign_ids: Iterable[int]) -> dict[int, int]:
    """Billable impressions per campaign, from the hour rows."""
    rows = (
        DeliveryCounter.objects.filter(creative__campaign_id__in=list(campaign_ids))
        .values("creative__campaign_id")
        .annotate(total=Sum("impressions"))
        .order_by()
    )
    return {row["creative__campaign_id"]: row["total"] or 0 for row in rows}


# ---------------------------------------------------------------------------------------------
# Redis


# KEYS: receipt, pending hash, campaign total, inventory version, totals-seeded marker,
#       [viewer cap key]
# ARGV: receipt TTL, event field, event value, billable impression (1/0), cap TTL,
#       the field that counts a replay apart, ask for seeding (1/0)
# The campaign total is raised only once the totals were seeded from the database (else the
# seeding would add this impression a second time, once flushed): unseeded, the script
# answers -1 and the caller seeds, then records. The event records whether it raised the
# total ("|1"), so the flush takes back only what was added.
RECORD_SCRIPT = """
local version = redis.call('GET', KEYS[4])
if ARGV[7] == '1' and ARGV[4] == '1' and redis.call('EXISTS', KEYS[5]) == 0 then
  return {-1, version}
end
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('HINCRBY', KEYS[2], ARGV[6], 1)
  return {0, version}
end
local paced = '0'
if ARGV[4] == '1' and redis.call('EXISTS', KEYS[5]) == 1 then
  redis.call('INCR', KEYS[3])
  paced = '1'
end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3] .. '|' .. paced)
if ARGV[4] == '1' then
  if #KEYS >= 6 then
    redis.call('INCR', KEYS[6])
    redis.call('EXPIRE', KEYS[6], ARGV[5])
  end
end
return {1, version}
"""

# KEYS: pending hash, inventory version; ARGV: the reason's hourly field
APART_SCRIPT = """
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
return redis.call('GET', KEYS[2])
"""


# Bumped in every forked child, so a worker never reuses its parent's Redis socket (cheaper
# than asking os.getpid(), a system call, on every request).
_fork_generation = 0


def _after_fork() -> None:
    global _fork_generation
    _fork_generation += 1


os.register_at_fork(after_in_child=_after_fork)


class _Connection(Protocol):
    """What the hot path uses of the redis-py connection it keeps per thread."""

    _sock: socket.socket | None  # None until connected

    @property
    def socket_timeout(self) -> float | None: ...

    def connect(self) -> None: ...

    def disconnect(self) -> None: ...

    def send_packed_command(self, command: list[bytes], check_health: bool = ...) -> None: ...

    def read_response(self) -> Any: ...


# A command's arguments, as hiredis packs them.
CommandArg = str | int | float | bytes


class _ScriptCall(TypedDict):
    keys: list[str]
    args: list[CommandArg]


def _block_with_kernel_timeout(sock: socket.socket, timeout: float | None) -> None:
    """Make the hot path's socket blocking, with its timeout enforced by the kernel.

    A Python socket with a timeout polls before every send and receive (a system call
    each); a blocking socket with SO_SNDTIMEO/SO_RCVTIMEO makes one call each and still
    gives up after ``timeout`` (redis-py then raises ConnectionError).
    """
    seconds = timeout or 0
    value = struct.pack("ll", int(seconds), int((seconds % 1) * 1_000_000))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)
    sock.settimeout(None)


class RedisCounters:
    buffered = True  # events wait in Redis for ads_flush

    def __init__(self) -> None:
        from django_redis import get_redis_connection

        self.client: redis.Redis = get_redis_connection("default")
        self._local = threading.local()
        self.record_script = self.client.register_script(RECORD_SCRIPT)
        self.apart_script = self.client.register_script(APART_SCRIPT)
        # Keys carry the cache's prefix and version (several installs may share one Redis).
        # Worked out once: the cache's make_key goes through a thread-local proxy per call.
        prefix = cache.make_key("")
        self._prefix = prefix if cache.make_key("k") == prefix + "k" else None
        self.version_key = self.key(versions.INVENTORY)  # read with the counters
        self.seeded_key = self.key(SEEDED_KEY)
        self.fallback = _fallback_store()  # while Redis is down (versions.breaker)

    def _connection(self) -> _Connection:
        """This thread's own connection for the hot path, kept (not returned to the pool).

        Taking a connection from redis-py's pool polls its socket first (several system
        calls); the hot path makes one call per request, so it keeps one per thread.
        """
        held: tuple[int, _Connection] | None = getattr(self._local, "held", None)
        if held is None or held[0] != _fork_generation:  # new thread, or a forked worker
            made: _Connection = versions.quick(self.client.connection_pool.make_connection())
            held = self._local.held = (_fork_generation, made)
        connection = held[1]
        if connection._sock is None:
            connection.connect()
            _block_with_kernel_timeout(connection._sock, connection.socket_timeout)  # type: ignore[arg-type]  # connect() set it
        return connection

    def command(self, *args: CommandArg) -> Any:
        """Send one command on this thread's connection; reconnect and retry once if the
        connection broke (safe for the record script: its receipt makes a repeat count
        nothing). A timeout is not retried: a hung Redis would double the wait, and the
        caller falls back to the database at once."""
        connection = self._connection()
        packed = [hiredis.pack_command(args)]  # type: ignore[arg-type]  # hiredis stub: a 1-tuple
        try:
            connection.send_packed_command(packed, check_health=False)
            return connection.read_response()
        except redis.exceptions.TimeoutError:
            connection.disconnect()  # its answer may still come: never read it as another's
            raise
        except (redis.exceptions.ConnectionError, OSError):
            connection.disconnect()
            connection = self._connection()
            connection.send_packed_command(packed, check_health=False)
            return connection.read_response()

    def run_script(self, script: Script, keys: list[str], args: list[CommandArg]) -> Any:
        """EVALSHA on the hot-path connection; loads the script when Redis does not know it."""
        try:
            return self.command("EVALSHA", script.sha, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:
            script.sha = self.client.script_load(script.script)
            return self.command("EVALSHA", script.sha, len(keys), *keys, *args)

    def key(self, name: str) -> str:
        return self._prefix + name if self._prefix is not None else cache.make_key(name)

    def delivered_key(self, campaign_id: int) -> str:
        return self.key(f"{DELIVERED_PREFIX}{campaign_id}")

    # -- writing

    def record(self, event: TrackedEvent) -> bool:
        """Count one event (once per receipt, or apart by its reason); True if it bills."""
        return self.record_versioned(event)[0]

    def record_versioned(self, event: TrackedEvent) -> tuple[bool, str | None]:
        """``record`` plus the inventory version, in the same round trip (one script call).

        Redis down: counted by the database path instead (its receipt in the database, so
        if Redis did count it before failing, the flush finds the receipt and counts that
        copy as replayed).
        """
        if breaker.open_until and breaker.down():  # healthy: one attribute read
            return self._record_in_database(event)
        try:
            return self._record_versioned(event)
        except REDIS_DOWN as exc:
            breaker.trip(exc)
            return self._record_in_database(event)

    def _record_in_database(self, event: TrackedEvent) -> tuple[bool, str | None]:
        counted, version = self.fallback.record_versioned(event)
        if counted and event.billable_impression:
            _owe_total(event.campaign_id)
        return counted, version

    def _record_versioned(self, event: TrackedEvent) -> tuple[bool, str | None]:
        if event.reason is not None:
            raw = self.run_script(
                self.apart_script,
                [self.key(PENDING_KEY), self.version_key],
                [_apart_field(event.apart(event.reason))],
            )
            return False, raw.decode() if raw else None
        call = self._script_call(event)
        counted, raw = self.run_script(self.record_script, **call)
        if counted == -1:  # the campaign totals are not seeded (Redis lost them): seed, then
            self.seed_delivered()  # record (unpaced if another worker is still seeding)
            call["args"][-1] = "0"
            counted, raw = self.run_script(self.record_script, **call)
        return counted == 1, raw.decode() if raw else None

    def _script_call(self, event: TrackedEvent) -> _ScriptCall:
        keys = [
            self.key(f"ads:seen:{event.receipt}"),
            self.key(PENDING_KEY),
            self.delivered_key(event.campaign_id),
            self.version_key,
            self.seeded_key,
        ]
        if event.billable_impression and event.cap_period and event.viewer:
            keys.append(
                self.key(cap_key(event.campaign_id, event.viewer, event.cap_period, event.at))
            )
        args: list[CommandArg] = [
            receipt_ttl(event.kind),
            EVENT_FIELD + event.receipt,
            _event_value(event),
            "1" if event.billable_impression else "0",
            PERIOD_SECONDS.get(event.cap_period, 0) + 60,
            _apart_field(event.apart(Reason.REPLAYED)),
            "1",
        ]
        return {"keys": keys, "args": args}

    # -- reading (decision.CounterReader)

    def read(
        self,
        *,
        campaigns: Iterable[int],
        caps: Iterable[tuple[int, str]],
        viewer: str | None,
        now: datetime,
    ) -> tuple[dict[int, int], dict[tuple[int, str], int]]:
        if breaker.open_until and breaker.down():
            return self.fallback.read(campaigns=campaigns, caps=caps, viewer=viewer, now=now)
        try:
            delivered, seen, _ = self._read(campaigns, caps, viewer, now, with_version=False)
        except REDIS_DOWN as exc:
            breaker.trip(exc)
            return self.fallback.read(campaigns=campaigns, caps=caps, viewer=viewer, now=now)
        return delivered, seen

    def read_versioned(
        self,
        *,
        campaigns: Iterable[int],
        caps: Iterable[tuple[int, str]],
        viewer: str | None,
        now: datetime,
    ) -> tuple[dict[int, int], dict[tuple[int, str], int], str | None]:
        """``read`` plus the inventory version, in the same round trip.

        Redis down: the database path's counts (local memory, seeded from the database:
        per process, approximate) and no version (the caller serves a local snapshot).
        """
        if breaker.open_until and breaker.down():
            return self.fallback.read_versioned(
                campaigns=campaigns, caps=caps, viewer=viewer, now=now
            )
        try:
            return self._read(campaigns, caps, viewer, now, with_version=True)
        except REDIS_DOWN as exc:
            breaker.trip(exc)
            return self.fallback.read_versioned(
                campaigns=campaigns, caps=caps, viewer=viewer, now=now
            )

    def _read(
        self,
        campaigns: Iterable[int],
        caps: Iterable[tuple[int, str]],
        viewer: str | None,
        now: datetime,
        *,
        with_version: bool,
    ) -> tuple[dict[int, int], dict[tuple[int, str], int], str | None]:
        """Version, campaign totals and cap counts: one MGET (one round trip)."""
        campaigns = list(campaigns)
        cap_list: list[tuple[int, str]] = list(caps) if viewer else []
        if not (with_version or campaigns or cap_list):
            return {}, {}, None
        keys = [self.version_key]
        if campaigns:
            keys.append(self.seeded_key)
            keys += [self.delivered_key(c) for c in campaigns]
        if cap_list:
            ts = now.timestamp()
            keys += [self.key(cap_key(c, viewer, p, ts)) for c, p in cap_list]  # type: ignore[arg-type]  # no caps without a viewer
        values = self.command("MGET", *keys)
        version = values[0].decode() if values[0] else None
        delivered: dict[int, int] = {}
        counts = values[1:]
        if campaigns:
            totals, counts = counts[1 : len(campaigns) + 1], counts[len(campaigns) + 1 :]
            if values[1] is None:  # Redis lost the totals: seed them, then read them again
                self.seed_delivered()
                totals = self.client.mget([self.delivered_key(c) for c in campaigns])
            delivered = {c: int(v or 0) for c, v in zip(campaigns, totals, strict=True)}
        seen = {k: int(v or 0) for k, v in zip(cap_list, counts, strict=True)}
        return delivered, seen, version

    def seed_delivered(self) -> None:
        """Rebuild the campaign totals from the database after Redis lost them.

        Until the totals are seeded the record script raises none: the first billable
        impression or decision after the loss seeds them. The database totals are added
        once, under a short lock; impressions still pending in Redis then are not in them
        (at most a flush interval's worth, while Redis keeps its pending hash): pacing may
        serve that many more, never fewer.
        """
        if not self.client.set(self.key(SEEDING_LOCK_KEY), "1", nx=True, ex=30):
            return
        try:
            totals = database_totals(Campaign.objects.values_list("pk", flat=True))
            if not self.client.get(self.seeded_key):
                pipe = self.client.pipeline(transaction=True)
                for campaign_id, total in totals.items():
                    if total:
                        pipe.incrby(self.delivered_key(campaign_id), total)
                pipe.set(self.seeded_key, time.time())  # when: see _hand_back_totals
                pipe.execute()
        finally:
            self.client.delete(self.key(SEEDING_LOCK_KEY))

    # -- flushing

    def flush(self, *, recover_after: float = 60.0) -> FlushReport:
        return flush_redis(self, recover_after=recover_after)


@dataclass(slots=True)
class FlushReport:
    batches: int = 0
    events: int = 0  # counted (billable impressions, clicks and reads)
    apart: int = 0  # counted apart by reason, replays found by the flush included
    recovered: int = 0
    already_applied: int = 0
    unknown: int = 0  # of creatives, slots or articles deleted since they were served


@dataclass(slots=True)
class _Batch:
    """A pending hash, parsed: counted events by receipt, and counts apart by reason."""

    # receipt -> kind, hour, creative, slot, article, and the campaign whose total it raised
    events: dict[str, tuple[str, int, int, int, int, int]]
    apart: Counter[ApartKey]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _parse_batch(raw: Mapping[bytes | str, bytes | str]) -> _Batch:
    batch = _Batch(events={}, apart=Counter())
    for raw_key, raw_value in raw.items():
        key, value = _text(raw_key), _text(raw_value)
        if key.startswith(EVENT_FIELD):
            receipt = key[len(EVENT_FIELD) :]
            hour, creative, slot, article, campaign, paced = (int(v) for v in value.split("|"))
            batch.events[receipt] = (
                receipt.split(":", 1)[0],
                hour,
                creative,
                slot,
                article,
                campaign if paced else 0,  # 0: its impression did not raise a total
            )
        elif key.startswith(APART_FIELD):
            at, kind, reason, creative_id, slot_id, article_id = key[len(APART_FIELD) :].split("|")
            apart_key: ApartKey = (
                int(at),
                kind,
                reason,
                int(creative_id),
                int(slot_id),
                int(article_id),
            )
            batch.apart[apart_key] += int(value)
        else:  # written by a release that counted per day (no receipts): at 00:00 UTC
            _parse_daily_field(key, int(value), batch)
    return batch


def _parse_daily_field(key: str, value: int, batch: _Batch) -> None:
    day, creative, slot, column = key.split("|")
    hour = hour_of(datetime.fromisoformat(day).replace(tzinfo=UTC))
    kind = IMPRESSION if column.endswith("impressions") else CLICK
    if column.startswith("bot_"):
        batch.apart[(hour, kind, Reason.BOT, int(creative), int(slot), 0)] += value
        return
    for n in range(value):  # one pseudo-event each, so the apply step stays one path
        batch.events[f"{kind}:daily-{day}-{creative}-{slot}-{n}"] = (
            kind,
            hour,
            int(creative),
            int(slot),
            0,
            0,
        )


def _known_ids(batch: _Batch) -> tuple[set[int], set[int], set[int]]:
    creatives = {e[2] for e in batch.events.values() if e[0] != READ}
    slots = {e[3] for e in batch.events.values() if e[0] != READ}
    articles = {e[4] for e in batch.events.values() if e[0] == READ}
    return (
        set(Creative.objects.filter(pk__in=creatives).values_list("pk", flat=True)),
        set(Slot.objects.filter(pk__in=slots).values_list("pk", flat=True)),
        set(Article.objects.filter(pk__in=articles).values_list("pk", flat=True)),
    )


def apply_batch(store: RedisCounters, name: str, report: FlushReport) -> None:
    """Apply one processing hash to the database exactly once, then delete it.

    In one transaction: the batch id (unique), the receipts of its events (an event whose
    receipt the database already holds was counted before, so it counts as "replayed"),
    the counts, and the counts apart. A second attempt (by another worker, or after this
    one was killed before deleting the hash) fails on the unique batch id and rolls back,
    adding nothing. Billable impressions found replayed are taken off the campaign totals
    that Redis had already raised for pacing.
    """
    batch_id = name.rsplit(":", 1)[-1]
    batch = _parse_batch(store.client.hgetall(name))
    creatives, slots, articles = _known_ids(batch)
    delivery: Counter[tuple[int, int, int]] = Counter()
    clicks: Counter[tuple[int, int, int]] = Counter()
    reads: Counter[tuple[int, int]] = Counter()
    apart = Counter(batch.apart)
    overcounted: Counter[int] = Counter()  # campaign -> billable impressions found replayed
    try:
        with transaction.atomic():
            FlushedBatch.objects.create(batch_id=batch_id, events=len(batch.events))
            new = insert_receipts(batch.events, at=datetime.now(UTC))
            for receipt, (kind, hour, creative, slot, article, campaign) in batch.events.items():
                if receipt not in new:
                    apart[(hour, kind, Reason.REPLAYED, creative, slot, article)] += 1
                    if kind == IMPRESSION:
                        overcounted[campaign] += 1
                elif kind == READ:
                    if article in articles:
                        reads[(hour, article)] += 1
                    else:
                        apart[(hour, kind, Reason.UNKNOWN, 0, 0, article)] += 1
                elif creative in creatives and slot in slots:
                    (delivery if kind == IMPRESSION else clicks)[(hour, creative, slot)] += 1
                else:
                    apart[(hour, kind, Reason.UNKNOWN, creative, slot, 0)] += 1
            upsert_delivery(
                {key: (delivery[key], clicks[key]) for key in delivery.keys() | clicks.keys()}
            )
            upsert_reads(reads)
            upsert_apart(apart)
    except IntegrityError:
        if not FlushedBatch.objects.filter(batch_id=batch_id).exists():
            raise
        report.already_applied += 1
    else:
        report.batches += 1
        report.events += delivery.total() + clicks.total() + reads.total()
        report.apart += apart.total()
        report.unknown += sum(n for key, n in apart.items() if key[2] == Reason.UNKNOWN)
        if overcounted:
            pipe = store.client.pipeline(transaction=False)
            for campaign, n in overcounted.items():
                if campaign:
                    pipe.decrby(store.delivered_key(campaign), n)
            pipe.execute()
    store.client.delete(name)


def flush_redis(store: RedisCounters, *, recover_after: float = 60.0) -> FlushReport:
    """Move pending counts from Redis to the database. Safe to run from several workers.

    1. Leftover processing hashes older than ``recover_after`` seconds (a worker died, or
       was killed, mid-flush) are applied (or found already applied) and deleted.
    2. The pending hash is renamed, atomically, to a new processing hash named with this
       batch's id: events arriving from now on start a new pending hash.
    3. The processing hash is applied in one transaction with its batch id, then deleted.
    """
    report = FlushReport()
    client = store.client
    prefix = store.key(PROCESSING_PREFIX)
    now = time.time()
    for raw in client.scan_iter(match=prefix + "*", count=500):
        name = raw.decode() if isinstance(raw, bytes) else raw
        started = float(name[len(prefix) :].split(":", 1)[0])
        if now - started >= recover_after:
            report.recovered += 1
            apply_batch(store, name, report)
    name = f"{prefix}{now:.6f}:{uuid.uuid4().hex}"
    try:
        client.rename(store.key(PENDING_KEY), name)
    except redis.exceptions.ResponseError as exc:  # "no such key": nothing is pending
        if "no such key" not in str(exc).lower():
            raise
        return report
    apply_batch(store, name, report)
    return report


# ---------------------------------------------------------------------------------------------
# Database (no Redis)


class DatabaseCounters:
    buffered = False
    # Where caps and campaign totals are kept: the shared cache without Redis; a local-memory
    # cache of this process when it stands in for a Redis that is down.
    cache: BaseCache = cache

    def __init__(self, local: BaseCache | None = None) -> None:
        if local is not None:
            self.cache = local

    def record(self, event: TrackedEvent) -> bool:
        """Count one event (once per receipt, or apart by its reason); True if it bills."""
        if event.reason is not None:
            upsert_apart({event.apart(event.reason): 1})
            return False
        try:
            with transaction.atomic():
                if not insert_receipts([event.receipt], at=event.at):
                    upsert_apart({event.apart(Reason.REPLAYED): 1})
                    return False
                if event.kind == READ:
                    upsert_reads({(event.hour, event.article_id): 1})
                else:
                    clicks = int(event.kind == CLICK)
                    upsert_delivery(
                        {(event.hour, event.creative_id, event.slot_id): (1 - clicks, clicks)}
                    )
        except IntegrityError:  # its creative, slot or article was deleted since
            upsert_apart({event.apart(Reason.UNKNOWN): 1})
            return False
        if event.billable_impression:
            # Right after the write (not on commit): caps and pacing see the impression at
            # once, even when an outer transaction is still open.
            self._after_count(event)
        return True

    def record_versioned(self, event: TrackedEvent) -> tuple[bool, str | None]:
        return self.record(event), versions.read(versions.INVENTORY)

    def read_versioned(
        self,
        *,
        campaigns: Iterable[int],
        caps: Iterable[tuple[int, str]],
        viewer: str | None,
        now: datetime,
    ) -> tuple[dict[int, int], dict[tuple[int, str], int], str | None]:
        delivered, seen = self.read(campaigns=campaigns, caps=caps, viewer=viewer, now=now)
        return delivered, seen, versions.read(versions.INVENTORY)

    def _after_count(self, event: TrackedEvent) -> None:
        # Not cached yet: the next read takes the total from the database.
        with contextlib.suppress(ValueError):
            self.cache.incr(f"ads:delivered:{event.campaign_id}")
        if event.cap_period and event.viewer:
            key = cap_key(event.campaign_id, event.viewer, event.cap_period, event.at)
            self.cache.add(key, 0, PERIOD_SECONDS[event.cap_period] + 60)
            try:
                self.cache.incr(key)
            except ValueError:
                self.cache.set(key, 1, PERIOD_SECONDS[event.cap_period] + 60)

    def read(
        self,
        *,
        campaigns: Iterable[int],
        caps: Iterable[tuple[int, str]],
        viewer: str | None,
        now: datetime,
    ) -> tuple[dict[int, int], dict[tuple[int, str], int]]:
        delivered: dict[int, int] = {}
        if campaigns:
            keys = {f"ads:delivered:{c}": c for c in campaigns}
            found = self.cache.get_many(list(keys))
            missing = [c for k, c in keys.items() if k not in found]
            if missing:
                totals = database_totals(missing)
                for campaign in missing:
                    self.cache.add(f"ads:delivered:{campaign}", totals.get(campaign, 0), None)
                found = self.cache.get_many(list(keys))
            delivered = {c: int(found.get(k, 0)) for k, c in keys.items()}
        seen: dict[tuple[int, str], int] = {}
        if caps and viewer:
            keys2 = {cap_key(c, viewer, p, now): (c, p) for c, p in caps}
            found = self.cache.get_many(list(keys2))
            seen = {pair: int(found.get(k, 0)) for k, pair in keys2.items()}
        return delivered, seen

    def flush(self, *, recover_after: float = 60.0) -> FlushReport:
        return FlushReport()


# Either store: what the decision's readers and tracking are given.
CounterStore = RedisCounters | DatabaseCounters


# ---------------------------------------------------------------------------------------------


@memoize
def _redis_store() -> RedisCounters:
    return RedisCounters()


@memoize
def _fallback_store() -> DatabaseCounters:
    """The database path that stands in for Redis while it is down (one per process)."""
    return DatabaseCounters(LocMemCache("ads-redis-fallback", {"OPTIONS": {"MAX_ENTRIES": 50_000}}))


# Billable impressions counted in the database during an outage, per campaign: Redis's
# campaign totals (pacing) did not see them. Handed back when Redis answers again.
_owed_totals: Counter[int] = Counter()
_owed_since = 0.0  # wall-clock time of the first of them
_owed_lock = threading.Lock()

# KEYS: totals-seeded marker, campaign totals; ARGV: since, the counts to add.
# Added only if the totals were seeded before the outage: seeded after it, they were read
# from the database, which already holds these impressions.
HAND_BACK_SCRIPT = """
local seeded = tonumber(redis.call('GET', KEYS[1]) or '')
if not seeded or seeded >= tonumber(ARGV[1]) then
  return 0
end
for i = 2, #KEYS do
  redis.call('INCRBY', KEYS[i], ARGV[i])
end
return 1
"""


def _owe_total(campaign_id: int) -> None:
    global _owed_since
    with _owed_lock:
        if not _owed_totals:
            _owed_since = time.time()
        _owed_totals[campaign_id] += 1


def _hand_back_totals() -> None:
    """Breaker closing: add the outage's database-counted impressions to Redis's totals,
    and forget the local caps and totals (the next outage seeds them afresh)."""
    global _owed_since
    _fallback_store().cache.clear()
    with _owed_lock:
        owed, since = dict(_owed_totals), _owed_since
        if not owed:
            return
        store = _redis_store()
        keys = [store.seeded_key, *(store.delivered_key(c) for c in owed)]
        store.client.eval(HAND_BACK_SCRIPT, len(keys), *keys, since, *owed.values())
        _owed_totals.clear()
        _owed_since = 0.0


breaker.on_close.append(_hand_back_totals)


def get_counters() -> RedisCounters | DatabaseCounters:
    """The counter store of this configuration (Redis when the cache is Redis)."""
    return _redis_store() if uses_redis() else DatabaseCounters()


def prune_receipts(*, older_than: float | None = None) -> int:
    """Delete database receipts whose tokens can no longer be presented; return how many.

    Per kind (a receipt's key starts with its kind): beacon and read receipts go after
    hours, click receipts after days, so storage follows each token's life.
    """
    now = datetime.now(UTC).timestamp()
    deleted = 0
    for kind in (IMPRESSION, CLICK, READ):
        cutoff = datetime.fromtimestamp(now - (older_than or receipt_ttl(kind)), UTC)
        found = TrackingReceipt.objects.filter(created_at__lt=cutoff, key__startswith=f"{kind}:")
        deleted += found.delete()[0]
    return deleted


__all__ = [
    "CLICK",
    "DAY",
    "HOUR",
    "IMPRESSION",
    "READ",
    "DatabaseCounters",
    "FlushReport",
    "RedisCounters",
    "TrackedEvent",
    "display_zone",
    "get_counters",
    "local_day",
    "rebuild_daily",
    "upsert_apart",
    "upsert_delivery",
    "upsert_hourly_delivery",
    "upsert_reads",
    "uses_redis",
]
