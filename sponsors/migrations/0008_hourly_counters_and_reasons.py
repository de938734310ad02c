"""Delivery counts per UTC hour (daily rows keep their day, at 00:00 UTC); bot counts move
to the counts of uncounted events, by reason; article reads per hour."""

import datetime as dt

import django.db.models.deletion
from django.db import migrations, models


def _checked_at_once(schema_editor):
    # PostgreSQL refuses to ALTER a table with deferred foreign-key checks still pending in
    # the transaction: check the rows written here as they are written.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def days_to_hours(apps, schema_editor):
    _checked_at_once(schema_editor)
    DeliveryCounter = apps.get_model("sponsors", "DeliveryCounter")
    UncountedCounter = apps.get_model("sponsors", "UncountedCounter")
    bots = []
    for counter in DeliveryCounter.objects.iterator():
        hour = dt.datetime.combine(counter.day, dt.time(0), tzinfo=dt.UTC)
        counter.hour = hour
        counter.save(update_fields=["hour"])
        for event, count in (
            ("impression", counter.bot_impressions),
            ("click", counter.bot_clicks),
        ):
            if count:
                bots.append(
                    UncountedCounter(
                        hour=hour,
                        event=event,
                        reason="bot",
                        creative_id=counter.creative_id,
                        slot_id=counter.slot_id,
                        count=count,
                    )
                )
    UncountedCounter.objects.bulk_create(bots, batch_size=500)


def hours_to_days(apps, schema_editor):
    _checked_at_once(schema_editor)
    DeliveryCounter = apps.get_model("sponsors", "DeliveryCounter")
    UncountedCounter = apps.get_model("sponsors", "UncountedCounter")
    days = {}
    for counter in DeliveryCounter.objects.iterator():
        key = (counter.hour.astimezone(dt.UTC).date(), counter.creative_id, counter.slot_id)
        row = days.setdefault(key, [0, 0, 0, 0])
        row[0] += counter.impressions
        row[1] += counter.clicks
    for bot in UncountedCounter.objects.filter(reason="bot", event__in=["impression", "click"]):
        key = (bot.hour.astimezone(dt.UTC).date(), bot.creative_id, bot.slot_id)
        if key in days:  # bot counts of an hour nothing billable was counted in are dropped
            days[key][2 if bot.event == "impression" else 3] += bot.count
    DeliveryCounter.objects.all().delete()
    DeliveryCounter.objects.bulk_create(
        [
            DeliveryCounter(
                day=day,
                hour=dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC),
                creative_id=creative_id,
                slot_id=slot_id,
                impressions=row[0],
                clicks=row[1],
                bot_impressions=row[2],
                bot_clicks=row[3],
            )
            for (day, creative_id, slot_id), row in days.items()
        ],
        batch_size=500,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("cms", "0004_partners_group"),
        ("sponsors", "0007_delivery_counts_protect_their_inventory"),
    ]

    operations = [
        migrations.CreateModel(
            name="UncountedCounter",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("hour", models.DateTimeField(help_text="The start of the UTC hour counted.")),
                (
                    "event",
                    models.CharField(
                        choices=[
                            ("impression", "Impression"),
                            ("click", "Click"),
                            ("read", "Article read"),
                        ],
                        max_length=10,
                    ),
                ),
                (
                    "reason",
                    models.CharField(
                        choices=[
                            ("replayed", "Replayed (already counted)"),
                            ("expired", "Expired token"),
                            ("invalid", "Invalid or tampered token"),
                            ("bot", "Bot or crawler"),
                            ("non_browser", "Non-browser client"),
                            ("preview", "Preview or forced decision"),
                            ("unknown", "Unknown creative, slot or article"),
                        ],
                        max_length=12,
                    ),
                ),
                (
                    "creative_id",
                    models.PositiveBigIntegerField(default=0, help_text="0: none or unknown."),
                ),
                (
                    "slot_id",
                    models.PositiveBigIntegerField(default=0, help_text="0: none or unknown."),
                ),
                (
                    "article_id",
                    models.PositiveBigIntegerField(default=0, help_text="0: none or unknown."),
                ),
                ("count", models.PositiveBigIntegerField(default=0)),
            ],
            options={
                "verbose_name": "uncounted event count",
                "ordering": ["-hour", "event", "reason"],
                "indexes": [
                    models.Index(
                        fields=["creative_id", "hour"], name="sponsors_un_creativ_2f817f_idx"
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("hour", "event", "reason", "creative_id", "slot_id", "article_id"),
                        name="uncounted_once_per_hour_and_reason",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="ArticleReadCounter",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("hour", models.DateTimeField(help_text="The start of the UTC hour counted.")),
                ("reads", models.PositiveBigIntegerField(default=0)),
                (
                    "article",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="read_counters",
                        to="cms.article",
                    ),
                ),
            ],
            options={
                "verbose_name": "article read count",
                "ordering": ["-hour", "article"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("hour", "article"), name="article_reads_once_per_hour"
                    )
                ],
            },
        ),
        migrations.AddField(
            model_name="deliverycounter",
            name="hour",
            field=models.DateTimeField(null=True, help_text="The start of the UTC hour counted."),
        ),
        # Nullable first, so that going back re-adds it on a table that has rows.
        migrations.AlterField(
            model_name="deliverycounter", name="day", field=models.DateField(null=True)
        ),
        migrations.RunPython(days_to_hours, hours_to_days),
        migrations.RemoveConstraint(
            model_name="deliverycounter", name="delivery_counter_once_per_day"
        ),
        migrations.RemoveField(model_name="deliverycounter", name="day"),
        migrations.RemoveField(model_name="deliverycounter", name="bot_impressions"),
        migrations.RemoveField(model_name="deliverycounter", name="bot_clicks"),
        migrations.AlterField(
            model_name="deliverycounter",
            name="hour",
            field=models.DateTimeField(help_text="The start of the UTC hour counted."),
        ),
        migrations.AlterModelOptions(
            name="deliverycounter",
            options={"ordering": ["-hour", "creative", "slot"], "verbose_name": "delivery count"},
        ),
        migrations.AddConstraint(
            model_name="deliverycounter",
            constraint=models.UniqueConstraint(
                fields=("hour", "creative", "slot"), name="delivery_counter_once_per_hour"
            ),
        ),
    ]
