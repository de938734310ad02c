"""Exact counts under concurrency: 16 parallel writers, 10,000 events, replays among them.

PostgreSQL only: SQLite serialises writers on one file lock, so it cannot show a lost or
doubled update. Runs in real transactions (``transaction=True``), each thread with its own
database connection, exactly as application server threads would.
"""

import threading
from collections import Counter

import pytest
from django.db import connection, connections
from django.db.models import Sum
from django.utils import timezone

from sponsors.counters import (
    CLICK,
    IMPRESSION,
    READ,
    DatabaseCounters,
    RedisCounters,
    TrackedEvent,
    flush_redis,
    uses_redis,
)
from sponsors.models import (
    ArticleReadCounter,
    DeliveryCounter,
    FlushedBatch,
    Reason,
    UncountedCounter,
)
from tests.cms.factories import ArticleFactory
from tests.sponsors.factories_ads import CreativeFactory, SlotFactory

WRITERS = 16
EVENTS = 10_000
REPLAYS_PER_WRITER = 50

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (set DATABASE_URL): SQLite serialises all writers",
    ),
]


def _events(creatives, slots):
    """10,000 distinct events over 2 creatives x 2 slots x impression/click x human/bot."""
    now = timezone.now()
    events = []
    for i in range(EVENTS):
        creative = creatives[i % 2]
        events.append(
            TrackedEvent(
                kind=IMPRESSION if i % 3 else CLICK,
                receipt_id=f"concurrent-{i:06d}",
                creative_id=creative.pk,
                slot_id=slots[(i // 2) % 2].pk,
                campaign_id=creative.campaign_id,
                cap_period="",
                viewer=f"viewer-{i % 97}",
                reason=Reason.BOT if i % 10 == 0 else None,
                at=now,
            )
        )
    return events


def _column(event):
    return "impressions" if event.kind == IMPRESSION else "clicks"


def _expected(events, sent):
    """Billable events once each; bots once per send; every repeat of a billable event
    counted apart as replayed."""
    billable, apart = Counter(), Counter()
    for event in events:
        if event.reason is None:
            billable[(event.creative_id, event.slot_id, _column(event))] += 1
    seen = set()
    for event in sent:
        if event.reason is not None:
            apart[(event.kind, event.reason)] += 1
        elif event.receipt in seen:
            apart[(event.kind, Reason.REPLAYED)] += 1
        seen.add(event.receipt)
    return billable, apart


def _actual():
    billable, apart = Counter(), Counter()
    for row in DeliveryCounter.objects.all():
        for column in ("impressions", "clicks"):
            if getattr(row, column):
                billable[(row.creative_id, row.slot_id, column)] += getattr(row, column)
    for row in UncountedCounter.objects.all():
        apart[(row.event, row.reason)] += row.count
    return billable, apart


def _run_writers(store, events):
    """16 threads; each sends its share plus replays of events other threads also send.

    Returns how many were counted as billable, and every event sent."""
    shares = [events[n::WRITERS] for n in range(WRITERS)]
    sent = [
        event
        for n in range(WRITERS)
        for event in [*shares[n], *events[(n * 37) % len(events) :][:REPLAYS_PER_WRITER]]
    ]
    counted = Counter()
    errors = []
    barrier = threading.Barrier(WRITERS)

    def writer(n):
        try:
            barrier.wait()
            replays = events[(n * 37) % len(events) :][:REPLAYS_PER_WRITER]
            for event in [*shares[n], *replays]:
                if store.record(event):
                    counted[n] += 1
        except Exception as exc:  # noqa: BLE001 - reported to the test below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors[:3]
    return sum(counted.values()), sent


@pytest.fixture
def inventory():
    slots = [SlotFactory(key="one"), SlotFactory(key="two")]
    creatives = [CreativeFactory(name="A", slots=slots), CreativeFactory(name="B", slots=slots)]
    return creatives, slots


def test_database_upserts_count_exactly_under_16_parallel_writers(inventory):
    events = _events(*inventory)
    counted, sent = _run_writers(DatabaseCounters(), events)
    billable = sum(1 for event in events if event.reason is None)
    assert counted == billable  # every replay was recognised
    assert _actual() == _expected(events, sent)
    totals = DeliveryCounter.objects.aggregate(i=Sum("impressions"), c=Sum("clicks"))
    assert sum(totals.values()) == billable


@pytest.mark.skipif(not uses_redis(), reason="needs Redis (set REDIS_URL)")
def test_redis_counts_flushed_by_four_racing_workers_are_exact(inventory):
    store = RedisCounters()
    events = _events(*inventory)
    writers_finished = threading.Event()
    flush_errors = []

    def flush_worker():
        # recover_after=0: every worker also grabs the others' batches in progress, the
        # worst case for double counting.
        try:
            while not writers_finished.is_set():
                flush_redis(store, recover_after=0)
        except Exception as exc:  # noqa: BLE001 - reported to the test below
            flush_errors.append(exc)
        finally:
            connections.close_all()

    flushers = [threading.Thread(target=flush_worker) for _ in range(4)]
    for flusher in flushers:
        flusher.start()
    counted, sent = _run_writers(store, events)
    writers_finished.set()
    for flusher in flushers:
        flusher.join(timeout=300)
    flush_redis(store, recover_after=0)
    assert not flush_errors, flush_errors[:3]
    assert counted == sum(1 for event in events if event.reason is None)
    assert _actual() == _expected(events, sent)
    assert FlushedBatch.objects.count() >= 1


# ---------------------------------------------------------------------------------------------
# Article reads: the same writers, page views instead of ads


def _read_events(articles):
    """10,000 distinct page views over 3 articles, one in ten by a bot."""
    now = timezone.now()
    return [
        TrackedEvent(
            kind=READ,
            receipt_id=f"page-view-{i:06d}",
            article_id=articles[i % 3].pk,
            reason=Reason.BOT if i % 10 == 0 else None,
            at=now,
        )
        for i in range(EVENTS)
    ]


def _expected_reads(events, sent):
    reads, apart = Counter(), Counter()
    for event in events:
        if event.reason is None:
            reads[event.article_id] += 1
    seen = set()
    for event in sent:
        if event.reason is not None:
            apart[(event.kind, event.reason)] += 1
        elif event.receipt in seen:
            apart[(event.kind, Reason.REPLAYED)] += 1
        seen.add(event.receipt)
    return reads, apart


def _actual_reads():
    reads, apart = Counter(), Counter()
    for row in ArticleReadCounter.objects.all():
        reads[row.article_id] += row.reads
    for row in UncountedCounter.objects.all():
        apart[(row.event, row.reason)] += row.count
    return reads, apart


@pytest.fixture
def articles():
    return [ArticleFactory() for _ in range(3)]


def test_database_reads_count_exactly_under_16_parallel_writers(articles):
    events = _read_events(articles)
    counted, sent = _run_writers(DatabaseCounters(), events)
    assert counted == sum(1 for event in events if event.reason is None)
    assert _actual_reads() == _expected_reads(events, sent)


@pytest.mark.skipif(not uses_redis(), reason="needs Redis (set REDIS_URL)")
def test_redis_reads_flushed_by_four_racing_workers_are_exact(articles):
    store = RedisCounters()
    events = _read_events(articles)
    writers_finished = threading.Event()
    flush_errors = []

    def flush_worker():
        try:
            while not writers_finished.is_set():
                flush_redis(store, recover_after=0)
        except Exception as exc:  # noqa: BLE001 - reported to the test below
            flush_errors.append(exc)
        finally:
            connections.close_all()

    flushers = [threading.Thread(target=flush_worker) for _ in range(4)]
    for flusher in flushers:
        flusher.start()
    counted, sent = _run_writers(store, events)
    writers_finished.set()
    for flusher in flushers:
        flusher.join(timeout=300)
    flush_redis(store, recover_after=0)
    assert not flush_errors, flush_errors[:3]
    assert counted == sum(1 for event in events if event.reason is None)
    assert _actual_reads() == _expected_reads(events, sent)
