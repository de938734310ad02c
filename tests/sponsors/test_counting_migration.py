"""Migrating the daily delivery counts to hours keeps every count, at 00:00 UTC of its day."""

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("sponsors", "0007_delivery_counts_protect_their_inventory")]
AFTER = [("sponsors", "0008_hourly_counters_and_reasons")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_daily_rows_keep_their_day_at_midnight_utc_and_their_bots_move_to_a_reason():
    old = migrate(BEFORE)
    sponsor = old.get_model("sponsors", "Sponsor").objects.create(name="S", slug="s")
    campaign = old.get_model("sponsors", "Campaign").objects.create(
        sponsor=sponsor, name="C", starts_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )
    creative = old.get_model("sponsors", "Creative").objects.create(
        campaign=campaign, name="Ad", kind="text", click_url="https://example.com/"
    )
    slot = old.get_model("sponsors", "Slot").objects.create(key="strip", name="Strip")
    old.get_model("sponsors", "DeliveryCounter").objects.create(
        day=dt.date(2026, 11, 30),
        creative=creative,
        slot=slot,
        impressions=1200,
        clicks=12,
        bot_impressions=30,
        bot_clicks=2,
    )
    try:
        new = migrate(AFTER)
        counters = new.get_model("sponsors", "DeliveryCounter").objects.values_list(
            "hour", "creative_id", "slot_id", "impressions", "clicks"
        )
        midnight = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
        assert list(counters) == [(midnight, creative.pk, slot.pk, 1200, 12)]
        apart = new.get_model("sponsors", "UncountedCounter").objects.values_list(
            "hour", "event", "reason", "creative_id", "slot_id", "count"
        )
        assert sorted(apart) == [
            (midnight, "click", "bot", creative.pk, slot.pk, 2),
            (midnight, "impression", "bot", creative.pk, slot.pk, 30),
        ]
        # And back: the hours of a day add up to the day again, bots in their columns.
        back = migrate(BEFORE)
        row = back.get_model("sponsors", "DeliveryCounter").objects.get()
        assert (row.day, row.impressions, row.clicks, row.bot_impressions, row.bot_clicks) == (
            dt.date(2026, 11, 30),
            1200,
            12,
            30,
            2,
        )
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
