"""What tracking counted: billable events per hour, everything else apart by its reason.

Counts are money, so the data must explain them. ``DeliveryCounter`` holds the billable
impressions and clicks of a creative in a slot per UTC hour, ``ArticleReadCounter`` the
article reads per hour, and ``UncountedCounter`` every event that was answered but not
counted, by reason (replayed, expired or tampered token, bot, non-browser client, preview,
unknown creative, slot or article). All are aggregates: storage grows with the hours
actually served, never with events, so hostile traffic cannot grow the database without
bound. ``TrackingReceipt`` keeps one row per counted event until its token expires: it
makes each served ad and page view count once, whichever path (Redis and the flush, or
the database directly) counted it, and across a Redis restart.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from cms.models import Article
from sponsors.models.inventory import Creative, Slot


class Event(models.TextChoices):
    IMPRESSION = "impression", "Impression"
    CLICK = "click", "Click"
    READ = "read", "Article read"


class Reason(models.TextChoices):
    """Why an event that was answered was not counted (never billed, never lost)."""

    REPLAYED = "replayed", "Replayed (already counted)"
    EXPIRED = "expired", "Expired token"
    INVALID = "invalid", "Invalid or tampered token"
    BOT = "bot", "Bot or crawler"
    NON_BROWSER = "non_browser", "Non-browser client"
    PREVIEW = "preview", "Preview or forced decision"
    UNKNOWN = "unknown", "Unknown creative, slot or article"


class DeliveryCounter(models.Model):
    """Billable impressions and clicks of one creative in one slot in one UTC hour. Exact."""

    hour = models.DateTimeField(help_text="The start of the UTC hour counted.")
    # PROTECT: what has delivery counts cannot be deleted (it would delete the counts, which
    # are what the sponsor is billed on); pause it instead.
    creative = models.ForeignKey(Creative, on_delete=models.PROTECT, related_name="counters")
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="counters")
    impressions = models.PositiveBigIntegerField(default=0)
    clicks = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-hour", "creative", "slot"]
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "creative", "slot"], name="delivery_counter_once_per_hour"
            ),
        ]
        verbose_name = "delivery count"

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H:00} UTC creative {self.creative_id} in slot {self.slot_id}"


class DailyDeliveryCounter(models.Model):
    """Billable impressions and clicks of one creative in one slot on one local day.

    A rollup of ``DeliveryCounter``, written in the same statement batch and transaction as
    the hourly rows (``sponsors.counters.upsert_delivery``), so the two always agree. The
    day is the display time zone's (``TIME_ZONE``) date of each counted hour's start, the
    rule the reports cut days by; reports over days, weeks, months or whole ranges read
    these rows (a year is 365 rows per creative and slot instead of 8,760). After a change
    of ``TIME_ZONE``, ``manage.py ads_rebuild_daily`` rebuilds them from the hourly rows.
    """

    day = models.DateField(help_text="The local day (display time zone) counted.")
    creative = models.ForeignKey(Creative, on_delete=models.PROTECT, related_name="daily_counters")
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="daily_counters")
    impressions = models.PositiveBigIntegerField(default=0)
    clicks = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-day", "creative", "slot"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "creative", "slot"], name="daily_delivery_counter_once_per_day"
            ),
        ]
        indexes = [models.Index(fields=["creative", "day"])]
        verbose_name = "daily delivery count"

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d} creative {self.creative_id} in slot {self.slot_id}"


class DeliveryReport(DeliveryCounter):
    """The admin's delivery report page (``sponsors.admin.reports``): no table of its own.

    A proxy only so the page has its line in the admin's app list. It adds no permission:
    the page is for those who may view the delivery counts (``view_deliverycounter``).
    """

    class Meta:
        proxy = True
        default_permissions = ()
        verbose_name = "delivery report"
        verbose_name_plural = "delivery report"


class ArticleReadCounter(models.Model):
    """Reads of one article in one UTC hour (one per page view; bots counted apart)."""

    hour = models.DateTimeField(help_text="The start of the UTC hour counted.")
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="read_counters")
    reads = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-hour", "article"]
        constraints = [
            models.UniqueConstraint(fields=["hour", "article"], name="article_reads_once_per_hour"),
        ]
        verbose_name = "article read count"

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H:00} UTC article {self.article_id}"


class UncountedCounter(models.Model):
    """Events answered but not counted, by reason, per UTC hour and what they named.

    The ids are plain numbers, not foreign keys: an event may name a creative, slot or
    article that no longer exists (reason "unknown"), and a tampered token names nothing
    (all 0, reason "invalid").
    """

    hour = models.DateTimeField(help_text="The start of the UTC hour counted.")
    event = models.CharField(max_length=10, choices=Event.choices)
    reason = models.CharField(max_length=12, choices=Reason.choices)
    creative_id = models.PositiveBigIntegerField(default=0, help_text="0: none or unknown.")
    slot_id = models.PositiveBigIntegerField(default=0, help_text="0: none or unknown.")
    article_id = models.PositiveBigIntegerField(default=0, help_text="0: none or unknown.")
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-hour", "event", "reason"]
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "event", "reason", "creative_id", "slot_id", "article_id"],
                name="uncounted_once_per_hour_and_reason",
            ),
        ]
        indexes = [models.Index(fields=["creative_id", "hour"])]
        verbose_name = "uncounted event count"

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H:00} UTC {self.event} {self.reason}: {self.count}"


class DailyUncountedCounter(models.Model):
    """``UncountedCounter`` rolled up by local day, as ``DailyDeliveryCounter`` is."""

    day = models.DateField(help_text="The local day (display time zone) counted.")
    event = models.CharField(max_length=10, choices=Event.choices)
    reason = models.CharField(max_length=12, choices=Reason.choices)
    creative_id = models.PositiveBigIntegerField(default=0, help_text="0: none or unknown.")
    slot_id = models.PositiveBigIntegerField(default=0, help_text="0: none or unknown.")
    article_id = models.PositiveBigIntegerField(default=0, help_text="0: none or unknown.")
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-day", "event", "reason"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "event", "reason", "creative_id", "slot_id", "article_id"],
                name="daily_uncounted_once_per_day_and_reason",
            ),
        ]
        indexes = [models.Index(fields=["creative_id", "day"])]
        verbose_name = "daily uncounted event count"

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d} {self.event} {self.reason}: {self.count}"


class FlushedBatch(models.Model):
    """A batch of Redis counter deltas already applied to the database.

    Written in the same transaction as the counters it applied: a batch id can be applied
    once only, whichever worker tries, and a worker killed mid-flush leaves nothing half-done.
    """

    batch_id = models.CharField(max_length=64, unique=True)
    events = models.PositiveBigIntegerField(default=0)
    flushed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-flushed_at"]
        verbose_name_plural = "flushed batches"

    def __str__(self) -> str:
        return self.batch_id


class TrackingReceipt(models.Model):
    """One counted event: a served ad's beacon or click, or one page view's read.

    Its unique key makes a replay count nothing, whether it is counted through Redis (the
    flush inserts the receipts of its batch) or straight in the database; receipts are
    pruned by ``manage.py ads_flush`` once their tokens have expired.
    """

    key = models.CharField(max_length=80, unique=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.key
