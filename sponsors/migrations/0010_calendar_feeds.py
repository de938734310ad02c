"""Personal calendar feeds (secret addresses of staff members' iCalendar feeds), and the
admin's "Calendar" entry: a proxy with no permissions of its own."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import sponsors.models.calendar


class Migration(migrations.Migration):
    dependencies = [
        ("sponsors", "0009_ad_ops_read_uncounted_and_reads"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="CalendarFeed",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "token",
                    models.CharField(
                        default=sponsors.models.calendar.new_feed_token,
                        editable=False,
                        max_length=64,
                        unique=True,
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
                (
                    "revoked_at",
                    models.DateTimeField(
                        blank=True,
                        editable=False,
                        help_text="When the address stopped working.",
                        null=True,
                    ),
                ),
                (
                    "last_fetched_at",
                    models.DateTimeField(
                        blank=True,
                        editable=False,
                        help_text="When a calendar app last read it.",
                        null=True,
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="calendar_feeds",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "calendar feed",
                "ordering": ["-created_at", "-pk"],
            },
        ),
        migrations.CreateModel(
            name="Calendar",
            fields=[],
            options={
                "verbose_name": "calendar",
                "verbose_name_plural": "calendar",
                "proxy": True,
                "default_permissions": (),
                "indexes": [],
                "constraints": [],
            },
            bases=("sponsors.calendarfeed",),
        ),
        migrations.AddConstraint(
            model_name="calendarfeed",
            constraint=models.UniqueConstraint(
                condition=models.Q(("revoked_at__isnull", True)),
                fields=("user",),
                name="calendar_feed_one_active_per_user",
                violation_error_message="A person has at most one active calendar feed.",
            ),
        ),
    ]
