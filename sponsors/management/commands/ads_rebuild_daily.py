"""Rebuild the daily delivery rollups from the hourly counters, by the display zone's days.

Needed only after a change of ``TIME_ZONE`` (the rollups' days are that zone's); the
counters keep them current otherwise. On PostgreSQL it locks the counter tables against
writes while it runs, so a flush waits (it loses nothing) instead of racing the rebuild.
"""

from django.core.management.base import BaseCommand
from django.db import connection, transaction

from sponsors.counters import display_zone, rebuild_daily
from sponsors.models import DeliveryCounter, UncountedCounter


class Command(BaseCommand):
    help = "Rebuild the daily delivery and uncounted rollups from the hourly counters."

    def handle(self, *args, **options):
        with transaction.atomic():
            if connection.vendor == "postgresql":
                tables = ", ".join(
                    connection.ops.quote_name(model._meta.db_table)
                    for model in (DeliveryCounter, UncountedCounter)
                )
                with connection.cursor() as cursor:
                    cursor.execute(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE")
            delivery, apart = rebuild_daily()
        self.stdout.write(
            f"Rebuilt {delivery:,} daily delivery rows and {apart:,} daily uncounted rows "
            f"in {display_zone().key}."
        )
