"""The daily rollups agree with the hourly counters, cut at the display zone's midnight."""

import datetime as dt
import io
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Sum

from sponsors.counters import (
    IMPRESSION,
    hour_of,
    local_day,
    rebuild_daily,
    upsert_apart,
    upsert_delivery,
)
from sponsors.models import (
    DailyDeliveryCounter,
    DailyUncountedCounter,
    DeliveryCounter,
    Reason,
    UncountedCounter,
)
from tests.sponsors.factories_ads import CreativeFactory, SlotFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def hour(*args) -> int:
    return hour_of(dt.datetime(*args, tzinfo=UTC))


def daily_rows() -> dict:
    return {
        (row.day, row.creative_id, row.slot_id): (row.impressions, row.clicks)
        for row in DailyDeliveryCounter.objects.all()
    }


@pytest.fixture
def placed():
    slot = SlotFactory()
    return CreativeFactory(slots=[slot]), slot


@pytest.mark.parametrize(
    ("utc_hour", "local"),
    [
        ((2026, 3, 28, 23), dt.date(2026, 3, 28)),  # 23:00 GMT, the day before the change
        ((2026, 3, 29, 0), dt.date(2026, 3, 29)),  # 00:00 GMT: the 23-hour day begins
        ((2026, 3, 29, 22), dt.date(2026, 3, 29)),  # 23:00 BST, its last hour
        ((2026, 3, 29, 23), dt.date(2026, 3, 30)),  # 00:00 BST
        ((2026, 10, 25, 0), dt.date(2026, 10, 25)),  # 01:00 BST of the 25-hour day
        ((2026, 10, 25, 23), dt.date(2026, 10, 25)),  # 23:00 GMT, its 25th hour
        ((2026, 10, 26, 0), dt.date(2026, 10, 26)),
    ],
)
def test_an_hour_rolls_up_into_its_local_day_across_dst(settings, utc_hour, local):
    settings.TIME_ZONE = "Europe/London"
    assert local_day(hour(*utc_hour)) == local


def test_writes_roll_up_by_local_day_in_the_same_transaction(settings, placed):
    settings.TIME_ZONE = "America/New_York"
    creative, slot = placed
    # 03:00 and 05:00 UTC on the 2nd are 23:00 and 01:00 in New York: two local days.
    with transaction.atomic():
        upsert_delivery({(hour(2026, 6, 2, 3), creative.pk, slot.pk): (5, 1)})
        upsert_delivery(
            {
                (hour(2026, 6, 2, 5), creative.pk, slot.pk): (7, 0),
                (hour(2026, 6, 2, 6), creative.pk, slot.pk): (2, 2),
            }
        )
    assert daily_rows() == {
        (dt.date(2026, 6, 1), creative.pk, slot.pk): (5, 1),
        (dt.date(2026, 6, 2), creative.pk, slot.pk): (9, 2),
    }
    hourly = DeliveryCounter.objects.aggregate(i=Sum("impressions"), k=Sum("clicks"))
    assert hourly == {"i": 14, "k": 3}


def test_a_failed_transaction_leaves_neither_hourly_nor_daily(placed):
    creative, slot = placed
    with pytest.raises(RuntimeError), transaction.atomic():
        upsert_delivery({(hour(2026, 6, 2, 3), creative.pk, slot.pk): (5, 1)})
        raise RuntimeError("the flush failed after its writes")
    assert not DeliveryCounter.objects.exists()
    assert not DailyDeliveryCounter.objects.exists()


def test_uncounted_events_roll_up_too(settings, placed):
    settings.TIME_ZONE = "Europe/London"
    creative, slot = placed
    upsert_apart(
        {
            (hour(2026, 7, 1, 22), IMPRESSION, Reason.BOT, creative.pk, slot.pk, 0): 3,
            (hour(2026, 7, 1, 23), IMPRESSION, Reason.BOT, creative.pk, slot.pk, 0): 4,
            (hour(2026, 7, 1, 12), IMPRESSION, Reason.INVALID, 0, 0, 0): 0,  # nothing: no row
        }
    )
    rows = {(r.day, r.reason): r.count for r in DailyUncountedCounter.objects.all()}
    # 22:00 UTC is 23:00 BST on the 1st; 23:00 UTC is midnight on the 2nd.
    assert rows == {(dt.date(2026, 7, 1), Reason.BOT): 3, (dt.date(2026, 7, 2), Reason.BOT): 4}
    assert UncountedCounter.objects.aggregate(n=Sum("count"))["n"] == 7


def test_rebuild_after_a_time_zone_change_matches_counting_in_the_new_zone(settings, placed):
    creative, slot = placed
    events = Counter(
        {(hour(2026, 3, 29, h % 24) + 3600 * (h // 24), creative.pk, slot.pk): h for h in range(48)}
    )
    settings.TIME_ZONE = "UTC"
    upsert_delivery({key: (n, n // 3) for key, n in events.items()})
    upsert_apart({(hour(2026, 3, 29, 23), IMPRESSION, Reason.BOT, creative.pk, slot.pk, 0): 2})
    settings.TIME_ZONE = "Europe/London"
    out = io.StringIO()
    call_command("ads_rebuild_daily", stdout=out)
    rebuilt = daily_rows()
    rebuilt_apart = {(r.day, r.count) for r in DailyUncountedCounter.objects.all()}
    assert "in Europe/London" in out.getvalue()
    DailyDeliveryCounter.objects.all().delete()
    DeliveryCounter.objects.all().delete()
    upsert_delivery({key: (n, n // 3) for key, n in events.items()})  # counted in London days
    assert rebuilt == daily_rows()
    assert rebuilt_apart == {(dt.date(2026, 3, 30), 2)}
    assert rebuild_daily() == (len(rebuilt), 1)
