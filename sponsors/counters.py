"""Delivery counters: where tracking writes events and where caps and pacing read them.

Two stores with one interface, chosen by configuration:

``RedisCounters`` (``REDIS_URL`` set; production)
    One Lua script per event, atomic in Redis: ``SET NX`` of the placement's receipt (a
    replayed beacon stops here), ``HINCRBY`` of the day's delta in the pending hash, and for
    billable impressions ``INCR`` of the campaign's lifetime total (pacing) and ``INCR`` of
    the viewer's cap key for the current hour or day (with a TTL). ``flush()`` moves the
    pending deltas to the database exactly once (see :func:`flush_redis`).

``DatabaseCounters`` (no Redis; development, single process)
    Each event inserts its receipt (unique key: a replay inserts nothing) and upserts the
    day's row with ``INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n`` in one
    transaction, exact under concurrency on SQLite and PostgreSQL. Campaign totals (pacing)
    and viewer caps are kept beside in the local cache, campaign totals seeded from the
    database on a miss, so a warm decision still makes no SQL query.

Both read and write the same numbers: the impression that a beacon counts is the one that
the next decision's pacing and cap checks see.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import struct
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache as memoize
from typing import TYPE_CHECKING, Any, Protocol, TypedDict

import hiredis
import redis
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum

from sponsors import versions
from sponsors.decision import DAY, HOUR, PERIOD_SECONDS
from sponsors.models import Campaign, Creative, DeliveryCounter, FlushedBatch, Slot, TrackingReceipt
from sponsors.versions import uses_redis

if TYPE_CHECKING:
    from redis.commands.core import Script

log = logging.getLogger(__name__)

IMPRESSION = "impression"
CLICK = "click"
COLUMNS = ("impressions", "clicks", "bot_impressions", "bot_clicks")

PENDING_KEY = "ads:counts:pending"
PROCESSING_PREFIX = "ads:counts:processing:"
DELIVERED_PREFIX = "ads:delivered:"  # + campaign id: its billable impressions, all time
SEEDED_KEY = "ads:delivered:seeded"  # set once the totals were seeded from the database
SEEDING_LOCK_KEY = "ads:delivered:seeding"


def receipt_ttl() -> int:
    """How long a placement's receipt is kept: as long as its tokens are accepted."""
    return max(beacon_max_age(), click_max_age()) + 60


def beacon_max_age() -> int:
    return int(getattr(settings, "ADS_BEACON_MAX_AGE", 6 * 3600))


def click_max_age() -> int:
    return int(getattr(settings, "ADS_CLICK_MAX_AGE", 7 * 24 * 3600))


@dataclass(frozen=True, slots=True)
class TrackedEvent:
    kind: str  # IMPRESSION or CLICK
    placement_id: str
    creative_id: int
    slot_id: int
    campaign_id: int
    cap_period: str  # HOUR, DAY or "" when the campaign has no cap
    viewer: str | None
    bot: bool
    at: datetime

    @property
    def column(self) -> str:
        base = "impressions" if self.kind == IMPRESSION else "clicks"
        return f"bot_{base}" if self.bot else base

    @property
    def billable_impression(self) -> bool:
        return self.kind == IMPRESSION and not self.bot

    @property
    def day(self) -> date:
        return self.at.astimezone(UTC).date()

    @property
    def receipt(self) -> str:
        return f"{self.kind}:{self.placement_id}"


def cap_key(campaign_id: int, viewer: str, period: str, at: datetime | float) -> str:
    """The key of the viewer's impressions of a campaign in the hour or day of ``at``."""
    ts = at if isinstance(at, float) else at.timestamp()
    bucket = int(ts // PERIOD_SECONDS[period])
    return f"ads:cap:{campaign_id}:{viewer}:{period}:{bucket}"


def _field(day: date, creative_id: int, slot_id: int, column: str) -> str:
    return f"{day.isoformat()}|{creative_id}|{slot_id}|{column}"


# ---------------------------------------------------------------------------------------------
# Database upsert shared by both stores


def upsert_counts(rows: Iterable[tuple[date, int, int, dict[str, int]]]) -> None:
    """Add counts to the day rows, creating them as needed, in one statement per 100 rows.

    ``INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n`` is atomic per row on both
    SQLite and PostgreSQL. Rows are sorted so concurrent writers lock them in one order.
    """
    table = connection.ops.quote_name(DeliveryCounter._meta.db_table)
    qn = connection.ops.quote_name
    ordered = sorted(rows, key=lambda r: (r[0], r[1], r[2]))
    updates = ", ".join(f"{qn(c)} = {table}.{qn(c)} + excluded.{qn(c)}" for c in COLUMNS)
    columns = ", ".join(qn(c) for c in ("day", "creative_id", "slot_id", *COLUMNS))
    with connection.cursor() as cursor:
        for start in range(0, len(ordered), 100):
            chunk = ordered[start : start + 100]
            values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(chunk))
            params: list[str | int | None] = []
            for day, creative_id, slot_id, counts in chunk:
                params += [connection.ops.adapt_datefield_value(day), creative_id, slot_id]
                params += [counts.get(c, 0) for c in COLUMNS]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {values} "
                f"ON CONFLICT (day, creative_id, slot_id) DO UPDATE SET {updates}",
                params,
            )


def database_totals(campaign_ids: Iterable[int]) -> dict[int, int]:
    """Billable impressions per campaign, from the day rows."""
    rows = (
        DeliveryCounter.objects.filter(creative__campaign_id__in=list(campaign_ids))
        .values("creative__campaign_id")
        .annotate(total=Sum("impressions"))
        .order_by()
    )
    return {row["creative__campaign_id"]: row["total"] or 0 for row in rows}


# ---------------------------------------------------------------------------------------------
# Redis


# KEYS: receipt, pending hash, campaign total, inventory version, [viewer cap key]
# ARGV: receipt TTL, pending field, billable impression (1/0), cap TTL
RECORD_SCRIPT = """
local version = redis.call('GET', KEYS[4])
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return {0, version} end
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
if ARGV[3] == '1' then
  redis.call('INCR', KEYS[3])
  if #KEYS >= 5 then
    redis.call('INCR', KEYS[5])
    redis.call('EXPIRE', KEYS[5], ARGV[4])
  end
end
return {1, version}
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
        # Keys carry the cache's prefix and version (several installs may share one Redis).
        # Worked out once: the cache's make_key goes through a thread-local proxy per call.
        prefix = cache.make_key("")
        self._prefix = prefix if cache.make_key("k") == prefix + "k" else None
        self.version_key = self.key(versions.INVENTORY)  # read with the counters
        self.seeded_key = self.key(SEEDED_KEY)

    def _connection(self) -> _Connection:
        """This thread's own connection for the hot path, kept (not returned to the pool).

        Taking a connection from redis-py's pool polls its socket first (several system
        calls); the hot path makes one call per request, so it keeps one per thread.
        """
        held: tuple[int, _Connection] | None = getattr(self._local, "held", None)
        if held is None or held[0] != _fork_generation:  # new thread, or a forked worker
            made: _Connection = self.client.connection_pool.make_connection()  # type: ignore[assignment]  # the pool makes redis.Connection objects
            held = self._local.held = (_fork_generation, made)
        connection = held[1]
        if connection._sock is None:
            connection.connect()
            _block_with_kernel_timeout(connection._sock, connection.socket_timeout)  # type: ignore[arg-type]  # connect() set it
        return connection

    def command(self, *args: CommandArg) -> Any:
        """Send one command on this thread's connection; reconnect and retry once if the
        connection broke (safe for the record script: its receipt makes a repeat count
        nothing)."""
        connection = self._connection()
        packed = [hiredis.pack_command(args)]  # type: ignore[arg-type]  # hiredis stub: a 1-tuple
        try:
            connection.send_packed_command(packed, check_health=False)
            return connection.read_response()
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError):
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
        """Count one event unless its placement was already counted; True if counted."""
        return self.record_versioned(event)[0]

    def record_versioned(self, event: TrackedEvent) -> tuple[bool, str | None]:
        """``record`` plus the inventory version, in the same round trip (one script call)."""
        counted, raw = self.run_script(self.record_script, **self._script_call(event))
        return bool(counted), raw.decode() if raw else None

    def _script_call(self, event: TrackedEvent) -> _ScriptCall:
        keys = [
            self.key(f"ads:seen:{event.receipt}"),
            self.key(PENDING_KEY),
            self.delivered_key(event.campaign_id),
            self.version_key,
        ]
        if event.billable_impression and event.cap_period and event.viewer:
            keys.append(
                self.key(cap_key(event.campaign_id, event.viewer, event.cap_period, event.at))
            )
        args: list[CommandArg] = [
            receipt_ttl(),
            _field(event.day, event.creative_id, event.slot_id, event.column),
            "1" if event.billable_impression else "0",
            PERIOD_SECONDS.get(event.cap_period, 0) + 60,
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
        delivered, seen, _ = self._read(campaigns, caps, viewer, now, with_version=False)
        return delivered, seen

    def read_versioned(
        self,
        *,
        campaigns: Iterable[int],
        caps: Iterable[tuple[int, str]],
        viewer: str | None,
        now: datetime,
    ) -> tuple[dict[int, int], dict[tuple[int, str], int], str | None]:
        """``read`` plus the inventory version, in the same round trip."""
        return self._read(campaigns, caps, viewer, now, with_version=True)

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

        Impressions counted since the loss are already in the totals (``INCR`` created
        them); the database totals are added on top, once, under a short lock.
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
                pipe.set(self.seeded_key, 1)
                pipe.execute()
        finally:
            self.client.delete(self.key(SEEDING_LOCK_KEY))

    # -- flushing

    def flush(self, *, recover_after: float = 60.0) -> FlushReport:
        return flush_redis(self, recover_after=recover_after)


@dataclass(slots=True)
class FlushReport:
    batches: int = 0
    events: int = 0
    recovered: int = 0
    already_applied: int = 0
    dropped: int = 0  # events of creatives or slots deleted since they were served


def _parse_batch(
    raw: Mapping[bytes | str, bytes | str],
) -> dict[tuple[date, int, int], dict[str, int]]:
    rows: dict[tuple[date, int, int], dict[str, int]] = defaultdict(dict)
    for key, value in raw.items():
        key = key.decode() if isinstance(key, bytes) else key
        day, creative_id, slot_id, column = key.split("|")
        if column not in COLUMNS:
            continue
        row = rows[(date.fromisoformat(day), int(creative_id), int(slot_id))]
        row[column] = row.get(column, 0) + int(value)
    return rows


def apply_batch(store: RedisCounters, name: str, report: FlushReport) -> None:
    """Apply one processing hash to the database exactly once, then delete it.

    The batch id is recorded in the same transaction as the counts; a second attempt (by
    another worker, or after this one was killed before deleting the hash) fails on the
    unique batch id and rolls back, adding nothing.
    """
    batch_id = name.rsplit(":", 1)[-1]
    rows = _parse_batch(store.client.hgetall(name))
    creative_ids = {c for _, c, _ in rows}
    slot_ids = {s for _, _, s in rows}
    live_creatives = set(Creative.objects.filter(pk__in=creative_ids).values_list("pk", flat=True))
    live_slots = set(Slot.objects.filter(pk__in=slot_ids).values_list("pk", flat=True))
    kept: list[tuple[date, int, int, dict[str, int]]] = []
    events = 0
    for (day, creative_id, slot_id), counts in rows.items():
        if creative_id in live_creatives and slot_id in live_slots:
            kept.append((day, creative_id, slot_id, counts))
            events += sum(counts.values())
        else:
            report.dropped += sum(counts.values())
    try:
        with transaction.atomic():
            FlushedBatch.objects.create(batch_id=batch_id, events=events)
            upsert_counts(kept)
    except IntegrityError:
        if not FlushedBatch.objects.filter(batch_id=batch_id).exists():
            raise
        report.already_applied += 1
    else:
        report.batches += 1
        report.events += events
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

    def record(self, event: TrackedEvent) -> bool:
        try:
            with transaction.atomic():
                TrackingReceipt.objects.create(key=event.receipt, created_at=event.at)
                upsert_counts([(event.day, event.creative_id, event.slot_id, {event.column: 1})])
        except IntegrityError:
            return False  # a replay (or a creative deleted since it was served)
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
            cache.incr(f"ads:delivered:{event.campaign_id}")
        if event.cap_period and event.viewer:
            key = cap_key(event.campaign_id, event.viewer, event.cap_period, event.at)
            cache.add(key, 0, PERIOD_SECONDS[event.cap_period] + 60)
            try:
                cache.incr(key)
            except ValueError:
                cache.set(key, 1, PERIOD_SECONDS[event.cap_period] + 60)

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
            found = cache.get_many(list(keys))
            missing = [c for k, c in keys.items() if k not in found]
            if missing:
                totals = database_totals(missing)
                for campaign in missing:
                    cache.add(f"ads:delivered:{campaign}", totals.get(campaign, 0), None)
                found = cache.get_many(list(keys))
            delivered = {c: int(found.get(k, 0)) for k, c in keys.items()}
        seen: dict[tuple[int, str], int] = {}
        if caps and viewer:
            keys2 = {cap_key(c, viewer, p, now): (c, p) for c, p in caps}
            found = cache.get_many(list(keys2))
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


def get_counters() -> RedisCounters | DatabaseCounters:
    """The counter store of this configuration (Redis when the cache is Redis)."""
    return _redis_store() if uses_redis() else DatabaseCounters()


def prune_receipts(*, older_than: float | None = None) -> int:
    """Delete database receipts whose tokens can no longer be presented; return how many."""
    cutoff = datetime.now(UTC).timestamp() - (older_than or receipt_ttl())
    deleted, _ = TrackingReceipt.objects.filter(
        created_at__lt=datetime.fromtimestamp(cutoff, UTC)
    ).delete()
    return deleted


__all__ = [
    "CLICK",
    "DAY",
    "HOUR",
    "IMPRESSION",
    "DatabaseCounters",
    "FlushReport",
    "RedisCounters",
    "TrackedEvent",
    "get_counters",
    "upsert_counts",
    "uses_redis",
]
