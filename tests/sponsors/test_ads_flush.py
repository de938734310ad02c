"""Flushing Redis counts to the database: idempotent, safe for several workers and for kills."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from sponsors import counters
from sponsors.counters import (
    IMPRESSION,
    PENDING_KEY,
    PROCESSING_PREFIX,
    RedisCounters,
    TrackedEvent,
    get_counters,
    uses_redis,
)
from sponsors.models import DeliveryCounter, FlushedBatch, TrackingReceipt
from tests.sponsors.factories_ads import CreativeFactory, SlotFactory

pytestmark = pytest.mark.django_db
needs_redis = pytest.mark.skipif(not uses_redis(), reason="needs Redis (set REDIS_URL)")


@pytest.fixture
def ad():
    slot = SlotFactory(key="sidebar")
    return CreativeFactory(name="Ad", slots=[slot]), slot


def send(ad, n, *, start=0, kind=IMPRESSION, bot=False, at=None):
    creative, slot = ad
    store = get_counters()
    for i in range(start, start + n):
        store.record(
            TrackedEvent(
                kind=kind,
                placement_id=f"placement-{kind}-{i:06d}",
                creative_id=creative.pk,
                slot_id=slot.pk,
                campaign_id=creative.campaign_id,
                cap_period="",
                viewer=None,
                bot=bot,
                at=at or timezone.now(),
            )
        )


def impressions() -> int:
    return DeliveryCounter.objects.aggregate(n=Sum("impressions"))["n"] or 0


@needs_redis
def test_flush_moves_pending_counts_to_the_database_once(ad):
    send(ad, 25)
    assert impressions() == 0  # buffered in Redis
    call_command("ads_flush", stdout=io.StringIO())
    assert impressions() == 25
    call_command("ads_flush", stdout=io.StringIO())
    assert impressions() == 25
    send(ad, 5, start=25)
    get_counters().flush()
    assert impressions() == 30
    assert FlushedBatch.objects.count() == 2


@needs_redis
def test_flush_keeps_days_apart(ad):
    send(ad, 3, at=dt.datetime(2026, 3, 1, 23, 59, tzinfo=dt.UTC))
    send(ad, 2, start=3, at=dt.datetime(2026, 3, 2, 0, 0, tzinfo=dt.UTC))
    get_counters().flush()
    assert dict(DeliveryCounter.objects.values_list("day", "impressions")) == {
        dt.date(2026, 3, 1): 3,
        dt.date(2026, 3, 2): 2,
    }


@needs_redis
def test_worker_killed_before_commit_leaves_a_batch_that_is_recovered_once(ad, monkeypatch):
    send(ad, 10)

    def killed(rows):
        raise KeyboardInterrupt("worker killed mid-flush")

    monkeypatch.setattr(counters, "upsert_counts", killed)
    with pytest.raises(KeyboardInterrupt):
        get_counters().flush()
    monkeypatch.undo()
    assert impressions() == 0 and FlushedBatch.objects.count() == 0  # rolled back
    store = get_counters()
    leftovers = list(store.client.scan_iter(match=store.key(PROCESSING_PREFIX) + "*"))
    assert len(leftovers) == 1
    send(ad, 4, start=10)  # new events keep arriving meanwhile
    store.flush(recover_after=3600)  # too recent to be presumed dead: left alone
    assert impressions() == 4
    store.flush(recover_after=0)
    assert impressions() == 14
    assert not list(store.client.scan_iter(match=store.key(PROCESSING_PREFIX) + "*"))


@needs_redis
def test_worker_killed_after_commit_does_not_apply_its_batch_twice(ad, monkeypatch):
    send(ad, 10)
    store = get_counters()
    monkeypatch.setattr(store.client, "delete", lambda *names: 0)  # dies before deleting
    store.flush()
    monkeypatch.undo()
    assert impressions() == 10
    assert len(list(store.client.scan_iter(match=store.key(PROCESSING_PREFIX) + "*"))) == 1
    report = store.flush(recover_after=0)
    assert (report.recovered, report.already_applied) == (1, 1)
    assert impressions() == 10
    assert not list(store.client.scan_iter(match=store.key(PROCESSING_PREFIX) + "*"))


@needs_redis
def test_events_of_deleted_creatives_are_dropped_not_fatal(ad):
    send(ad, 3)
    ad[0].delete()
    report = get_counters().flush()
    assert (report.events, report.dropped) == (0, 3)
    assert not get_counters().client.exists(get_counters().key(PENDING_KEY))


@needs_redis
def test_pacing_totals_are_rebuilt_from_the_database_after_redis_loses_them(ad):
    creative, _ = ad
    send(ad, 7)
    get_counters().flush()
    store = get_counters()
    lost = list(store.client.scan_iter(match=store.key(counters.DELIVERED_PREFIX) + "*"))
    assert lost  # the campaign's total and the seeded marker
    store.client.delete(*lost)
    delivered, _ = store.read(
        campaigns={creative.campaign_id}, caps=set(), viewer=None, now=timezone.now()
    )
    assert delivered == {creative.campaign_id: 7}


@pytest.mark.skipif(uses_redis(), reason="the database store is used without REDIS_URL")
def test_without_redis_flush_explains_and_prunes_expired_receipts(ad, capsys):
    send(ad, 2)
    TrackingReceipt.objects.update(created_at=timezone.now() - dt.timedelta(days=30))
    send(ad, 1, start=2)
    call_command("ads_flush")
    out = capsys.readouterr().out
    assert "nothing to flush" in out
    assert "Pruned 2" in out
    assert impressions() == 3
    assert TrackingReceipt.objects.count() == 1


def test_flush_command_refuses_negative_options():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="must not be negative"):
        call_command("ads_flush", "--every", "-1")


def test_redis_store_class_is_used_only_with_redis():
    assert isinstance(get_counters(), RedisCounters) == uses_redis()
