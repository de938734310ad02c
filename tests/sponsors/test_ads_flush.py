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
    DatabaseCounters,
    RedisCounters,
    TrackedEvent,
    get_counters,
    uses_redis,
)
from sponsors.models import DeliveryCounter, FlushedBatch, Reason, TrackingReceipt
from tests.sponsors.counting import apart
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
                receipt_id=f"placement-{kind}-{i:06d}",
                creative_id=creative.pk,
                slot_id=slot.pk,
                campaign_id=creative.campaign_id,
                cap_period="",
                viewer=None,
                reason=Reason.BOT if bot else None,
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


@pytest.mark.parametrize(
    "boundary",
    [
        dt.datetime(2026, 3, 2, 0, 0, tzinfo=dt.UTC),  # midnight UTC
        dt.datetime(2026, 3, 29, 1, 0, tzinfo=dt.UTC),  # London's clocks go forward
        dt.datetime(2026, 10, 25, 1, 0, tzinfo=dt.UTC),  # and back
        dt.datetime(2026, 11, 1, 6, 0, tzinfo=dt.UTC),  # New York's go back
    ],
)
def test_counts_keep_utc_hours_apart_to_the_microsecond(ad, boundary):
    """Either store: the last microsecond of an hour and the first of the next."""
    send(ad, 3, at=boundary - dt.timedelta(microseconds=1))
    send(ad, 2, start=3, at=boundary)
    get_counters().flush()
    assert dict(DeliveryCounter.objects.values_list("hour", "impressions")) == {
        boundary - dt.timedelta(hours=1): 3,
        boundary: 2,
    }


@needs_redis
def test_worker_killed_before_commit_leaves_a_batch_that_is_recovered_once(ad, monkeypatch):
    send(ad, 10)

    def killed(rows):
        raise KeyboardInterrupt("worker killed mid-flush")

    monkeypatch.setattr(counters, "upsert_delivery", killed)
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
    assert (report.events, report.unknown) == (0, 3)
    assert not get_counters().client.exists(get_counters().key(PENDING_KEY))
    assert apart() == {("impression", "unknown"): 3}


@needs_redis
def test_a_replay_after_redis_lost_its_receipts_counts_nothing(ad):
    """Redis restarted empty (no persistence): the flush finds the receipts in the
    database, counts the repeats as replayed, and takes them off the pacing total."""
    creative, _ = ad
    send(ad, 10)
    get_counters().flush()
    store = get_counters()
    store.client.delete(*store.client.scan_iter(match=store.key("ads:seen:") + "*"))
    send(ad, 10)  # the same ten beacons again: Redis takes them as new
    report = store.flush()
    assert impressions() == 10
    assert (report.events, report.apart) == (0, 10)
    assert apart() == {("impression", "replayed"): 10}
    delivered, _ = store.read(
        campaigns={creative.campaign_id}, caps=set(), viewer=None, now=timezone.now()
    )
    assert delivered == {creative.campaign_id: 10}


@needs_redis
def test_counts_left_pending_by_the_daily_release_are_applied_at_midnight_utc(ad):
    creative, slot = ad
    store = get_counters()
    pending = store.key(PENDING_KEY)
    store.client.hset(pending, f"2026-11-30|{creative.pk}|{slot.pk}|impressions", 4)
    store.client.hset(pending, f"2026-11-30|{creative.pk}|{slot.pk}|bot_clicks", 2)
    store.flush()
    midnight = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    assert list(DeliveryCounter.objects.values_list("hour", "impressions")) == [(midnight, 4)]
    assert apart() == {("click", "bot"): 2}


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


@needs_redis
@pytest.mark.parametrize("first", ["redis", "database"])
def test_one_receipt_across_the_switch_between_redis_and_the_database(ad, first):
    """An event counted by one store and presented again to the other bills once."""
    creative, slot = ad
    event = TrackedEvent(
        kind=IMPRESSION,
        receipt_id="switch-1",
        at=timezone.now(),
        creative_id=creative.pk,
        slot_id=slot.pk,
        campaign_id=creative.campaign_id,
    )
    stores = [get_counters(), DatabaseCounters()]
    if first == "database":
        stores.reverse()
    assert stores[0].record(event) is True
    get_counters().flush()
    stores[1].record(event)  # Redis takes it as new; its flush finds the receipt
    get_counters().flush()
    assert impressions() == 1
    assert apart() == {("impression", "replayed"): 1}


def test_receipts_are_pruned_when_their_kind_of_token_expires():
    """Beacon and read receipts go after hours, click receipts after days: storage
    follows each token's life."""
    from sponsors.counters import prune_receipts

    now = timezone.now()
    for key, age in (
        ("impression:old", dt.timedelta(hours=7)),
        ("read:old", dt.timedelta(hours=7)),
        ("click:recent", dt.timedelta(hours=7)),
        ("click:old", dt.timedelta(days=8)),
        ("impression:fresh", dt.timedelta(minutes=5)),
    ):
        TrackingReceipt.objects.create(key=key, created_at=now - age)
    assert prune_receipts() == 3
    assert set(TrackingReceipt.objects.values_list("key", flat=True)) == {
        "click:recent",
        "impression:fresh",
    }
