"""Delivery counts for report tests: a small book of counted and uncounted events."""

import datetime as dt

from sponsors.counters import hour_of, upsert_apart, upsert_delivery
from tests.sponsors.factories import SponsorFactory
from tests.sponsors.factories_ads import CampaignFactory, CreativeFactory, SlotFactory

UTC = dt.UTC
START, END = dt.date(2026, 11, 1), dt.date(2026, 11, 3)


def count(hour, creative, slot, impressions, clicks=0):
    """Counted as the flush counts: the hourly row and its local day's rollup."""
    upsert_delivery({(hour_of(hour), creative.pk, slot.pk): (impressions, clicks)})


def apart(hour, reason, n, creative=None, slot=None, event="impression", creative_id=0):
    creative_id = creative.pk if creative else creative_id
    upsert_apart({(hour_of(hour), event, reason, creative_id, slot.pk if slot else 0, 0): n})


def at(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, tzinfo=UTC)


def make_book() -> dict:
    """Two sponsors, three campaigns (one with two creatives), two slots, three days."""
    strip, sidebar = SlotFactory(key="strip", name="Strip"), SlotFactory(key="sidebar")
    tiktok = SponsorFactory(slug="tiktok", name="TikTok")
    acme = SponsorFactory(slug="acme", name="Acme")
    spring = CampaignFactory(name="Spring", sponsor=tiktok)
    a = CreativeFactory(name="A", campaign=spring)
    a2 = CreativeFactory(name="A2", campaign=spring)
    b = CreativeFactory(name="B", campaign__name="Autumn", campaign__sponsor=acme)
    bots_only = CreativeFactory(name="Bots only", campaign__name="Quiet", campaign__sponsor=acme)
    count(at(1, 9), a, strip, 1000, 10)
    count(at(1, 10), a2, sidebar, 300, 3)
    count(at(2, 9), a, sidebar, 500, 5)
    count(at(2, 9), b, strip, 200, 0)
    count(at(3, 23), b, strip, 50, 1)
    count(at(10, 9), b, strip, 999, 9)  # outside the range
    apart(at(1, 9), "bot", 50, a, strip)
    apart(at(1, 9), "bot", 1, a, strip, event="click")
    apart(at(2, 9), "replayed", 4, a, sidebar)
    apart(at(2, 9), "bot", 7, b, strip)
    apart(at(2, 12), "expired", 2, bots_only, strip)
    apart(at(2, 12), "bot", 3, bots_only, strip)
    apart(at(3, 1), "invalid", 9)  # a tampered token names nothing
    apart(at(3, 2), "unknown", 6, slot=strip, creative_id=999_999)  # a creative deleted since
    return {"a": a, "a2": a2, "b": b, "bots_only": bots_only, "strip": strip, "sidebar": sidebar}
