"""Ad inventory: slots on the page, campaigns that buy them, creatives that fill them.

What they delivered is counted in ``sponsors.models.counting``.

Every save or delete of a slot, campaign or creative bumps the inventory version
(``sponsors.versions``) so the ad decision serves the change on the next request.
The bump is explicit in ``save()``/``delete()`` and in the services that use bulk
``update()``, not in signals: whoever reads the model sees where invalidation happens.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, URLValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from cms.history import AuditedHistory
from cms.images import SafeImageField, refresh_renditions
from cms.models import Topic
from sponsors import decision, versions
from sponsors.models.profiles import Sponsor
from sponsors.querysets import CampaignQuerySet, CreativeQuerySet, SlotQuerySet

http_url_validator = URLValidator(schemes=["http", "https"])


# Campaign dates outside these years are typing mistakes (0001-01-01, 9999-12-31), and the
# far end would overflow date arithmetic (a duplicate's shifted end).
CAMPAIGN_YEARS = (2000, 2999)


class State(models.TextChoices):
    """What ad-ops staff see in lists: one word for where a campaign or creative stands."""

    LIVE = decision.LIVE, "Live"
    SCHEDULED = decision.SCHEDULED, "Scheduled"
    ENDED = decision.ENDED, "Ended"
    PAUSED = "paused", "Paused"


class InventoryModel(models.Model):
    """Saving or deleting any inventory row invalidates the decision's cached snapshot."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        self.after_save()
        versions.bump(versions.INVENTORY)

    def after_save(self) -> None:
        """Work that must be done before the new version is announced (e.g. renditions)."""

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        versions.bump(versions.INVENTORY)
        return result


class Slot(InventoryModel):
    """A place on the page that shows one ad (``sitewide-strip``, ``leaderboard``, …)."""

    key = models.SlugField(
        max_length=50,
        unique=True,
        help_text="What front ends ask for, e.g. “leaderboard”. Changing it breaks their calls.",
    )
    name = models.CharField(max_length=120)
    width = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Largest image width in px. Leave width and height empty for a flexible slot.",
    )
    height = models.PositiveIntegerField(null=True, blank=True, help_text="Largest image height.")
    accepts_image = models.BooleanField("accepts image banners", default=True)
    accepts_text = models.BooleanField("accepts text promo strips", default=False)
    house_creative = models.ForeignKey(
        "Creative",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Shown when no paid creative qualifies (it ignores targeting, caps and pacing).",
    )
    is_active = models.BooleanField(
        "active", default=True, help_text="A switched-off slot serves nothing."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SlotQuerySet.as_manager()
    history = AuditedHistory()

    class Meta:
        ordering = ["key"]
        constraints = [
            models.CheckConstraint(
                name="slot_accepts_some_kind",
                condition=Q(accepts_image=True) | Q(accepts_text=True),
                violation_error_message="A slot must accept image banners, text strips or both.",
            ),
            models.CheckConstraint(
                name="slot_size_complete",
                condition=Q(width__isnull=True, height__isnull=True)
                | Q(width__gte=1, height__gte=1),
                violation_error_message="Give both width and height, or neither (flexible).",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"

    @property
    def is_flexible(self) -> bool:
        return self.width is None

    @property
    def size_label(self) -> str:
        return "flexible" if self.is_flexible else f"{self.width} x {self.height}"

    @property
    def accepted_kinds(self) -> list[str]:
        kinds: list[str] = []
        if self.accepts_image:
            kinds.append(Creative.Kind.IMAGE)
        if self.accepts_text:
            kinds.append(Creative.Kind.TEXT)
        return kinds

    def misfit_reason(self, kind: str, width: int | None, height: int | None) -> str | None:
        """Why a creative of this kind and size cannot show here, or None when it fits."""
        return decision.fit_reason(
            slot_key=self.key,
            kinds=self.accepted_kinds,
            slot_width=self.width,
            slot_height=self.height,
            kind=kind,
            width=width,
            height=height,
        )

    def clean(self) -> None:
        if (self.width is None) != (self.height is None):
            raise ValidationError(
                "Give both width and height, or leave both empty for a flexible slot.",
                code="slot_size_incomplete",
            )
        if not (self.accepts_image or self.accepts_text):
            raise ValidationError(
                "A slot must accept image banners, text promo strips or both.",
                code="slot_accepts_nothing",
            )
        house = self.house_creative
        if house is not None:
            reason = self.misfit_reason(house.kind, house.image_width, house.image_height)
            if reason:
                raise ValidationError(
                    {"house_creative": f"The house creative cannot show here: {reason}."},
                    code="house_creative_misfit",
                )


class Campaign(InventoryModel):
    """A sponsor's buy: dates, priority tier, an optional goal with pacing and a frequency cap."""

    class Tier(models.IntegerChoices):
        # Higher numbers win: the decision serves the highest tier that has a creative.
        SPONSORSHIP = 30, "Sponsorship"
        STANDARD = 20, "Standard"
        HOUSE = 10, "House"

    class Pacing(models.TextChoices):
        EVEN = "even", "Even (spread the goal over the dates)"
        ASAP = "asap", "As fast as possible"

    class CapPeriod(models.TextChoices):
        HOUR = "hour", "per hour"
        DAY = "day", "per day"

    sponsor = models.ForeignKey(Sponsor, on_delete=models.PROTECT, related_name="campaigns")
    name = models.CharField(max_length=160)
    starts_at = models.DateTimeField(help_text="When its creatives may start serving.")
    ends_at = models.DateTimeField(
        null=True, blank=True, help_text="When they stop. Empty: open-ended (house campaigns)."
    )
    tier = models.PositiveSmallIntegerField(choices=Tier.choices, default=Tier.STANDARD)
    impression_goal = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Billable impressions to deliver; the campaign stops serving once reached.",
    )
    pacing = models.CharField(
        max_length=4,
        choices=Pacing.choices,
        default=Pacing.ASAP,
        help_text="Even pacing skips the campaign while it is ahead of schedule.",
    )
    frequency_cap = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="At most this many impressions per viewer per period. Empty: no cap.",
    )
    frequency_period = models.CharField(
        max_length=4, choices=CapPeriod.choices, default=CapPeriod.DAY
    )
    is_active = models.BooleanField(
        "active", default=True, help_text="Untick to pause every creative of the campaign."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CampaignQuerySet.as_manager()
    history = AuditedHistory()

    class Meta:
        ordering = ["-starts_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                name="campaign_ends_after_start",
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("starts_at")),
                violation_error_message="The campaign must end after it starts.",
            ),
            models.CheckConstraint(
                name="campaign_even_pacing_needs_goal_and_end",
                condition=~Q(pacing="even")
                | Q(impression_goal__isnull=False, ends_at__isnull=False),
                violation_error_message="Even pacing needs an impression goal and an end date.",
            ),
            models.CheckConstraint(
                name="campaign_goal_positive",
                condition=Q(impression_goal__isnull=True) | Q(impression_goal__gte=1),
                violation_error_message="The impression goal must be at least 1.",
            ),
            models.CheckConstraint(
                name="campaign_cap_positive",
                condition=Q(frequency_cap__isnull=True) | Q(frequency_cap__gte=1),
                violation_error_message="The frequency cap must be at least 1.",
            ),
        ]
        indexes = [models.Index(fields=["is_active", "starts_at", "ends_at"])]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        for name in ("starts_at", "ends_at"):
            moment = getattr(self, name)
            if moment is not None and not CAMPAIGN_YEARS[0] <= moment.year <= CAMPAIGN_YEARS[1]:
                errors[name] = (
                    f"Give a time between the years {CAMPAIGN_YEARS[0]} and {CAMPAIGN_YEARS[1]}."
                )
        if errors:
            raise ValidationError(errors, code="campaign_invalid")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = "The campaign must end after it starts."
        if self.pacing == self.Pacing.EVEN:
            if not self.impression_goal:
                errors["impression_goal"] = "Even pacing needs an impression goal."
            if not self.ends_at:
                errors["ends_at"] = "Even pacing needs an end date to spread the goal over."
        if errors:
            raise ValidationError(errors, code="campaign_invalid")

    def state(self, at: datetime | None = None) -> State:
        """Paused, or where its dates put it at ``at`` (``decision.date_state``)."""
        if not self.is_active:
            return State.PAUSED
        ends = self.ends_at.timestamp() if self.ends_at is not None else None
        now = (at or timezone.now()).timestamp()
        return State(decision.date_state(self.starts_at.timestamp(), ends, now))


class Creative(InventoryModel):
    """One ad: an image banner or a text promo strip, with its destination and targeting.

    A text promo strip may carry a countdown: it then stops serving at the countdown's last
    deadline, or keeps serving showing the closed message, as staff chose.
    """

    class Kind(models.TextChoices):
        IMAGE = decision.IMAGE, decision.KIND_LABELS[decision.IMAGE]
        TEXT = decision.TEXT, decision.KIND_LABELS[decision.TEXT]

    class WhenCountdownCloses(models.TextChoices):
        STOP = "stop", "Stop serving"
        CLOSED_MESSAGE = "closed_message", "Keep serving with the closed message"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="creatives")
    name = models.CharField(max_length=160)
    kind = models.CharField(max_length=5, choices=Kind.choices, default=Kind.IMAGE)
    image = SafeImageField(
        upload_to="creatives/",
        blank=True,
        width_field="image_width",
        height_field="image_height",
        help_text="Image banners only. It must fit every slot the creative is assigned to.",
    )
    image_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    image_height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    image_renditions = models.JSONField(default=dict, blank=True, editable=False)
    alt_text = models.CharField(
        max_length=300, blank=True, help_text="Describes the banner for screen readers."
    )
    headline = models.CharField(max_length=120, blank=True, help_text="Text strips: the headline.")
    body = models.CharField(
        "short text", max_length=280, blank=True, help_text="Text strips: one short sentence."
    )
    cta_label = models.CharField(
        "call-to-action label",
        max_length=40,
        blank=True,
        help_text="Text strips: the button, e.g. “Enter now”.",
    )
    click_url = models.URLField(
        "click-through URL",
        max_length=1000,
        validators=[http_url_validator],
        help_text="Where a click goes (http or https only). Clicks redirect only here.",
    )
    weight = models.PositiveIntegerField(
        default=1,
        validators=[MinValueValidator(1)],
        help_text="Share of rotation among creatives of the same tier (2 serves twice as often).",
    )
    include_topics = models.ManyToManyField(
        Topic,
        blank=True,
        related_name="+",
        help_text="Serve only on pages with at least one of these topics. Empty: everywhere.",
    )
    exclude_topics = models.ManyToManyField(
        Topic,
        blank=True,
        related_name="+",
        help_text="Never serve on pages with any of these topics.",
    )
    slots = models.ManyToManyField(Slot, blank=True, related_name="creatives")
    countdown = models.ForeignKey(
        "sponsors.Countdown",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="creatives",
        help_text="Text strips: a deadline countdown shown with the promo.",
    )
    when_countdown_closes = models.CharField(
        max_length=14,
        choices=WhenCountdownCloses.choices,
        default=WhenCountdownCloses.STOP,
        help_text="What the strip does once its countdown's last deadline has passed.",
    )
    is_active = models.BooleanField("active", default=True, help_text="Untick to pause.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CreativeQuerySet.as_manager()
    # Renditions are derived from the image and written after the row: not kept.
    history = AuditedHistory(
        excluded_fields=["image_renditions"],
        m2m_fields=["slots", "include_topics", "exclude_topics"],
    )

    class Meta:
        ordering = ["campaign", "name", "pk"]
        constraints = [
            models.CheckConstraint(
                name="creative_weight_positive",
                condition=Q(weight__gte=1),
                violation_error_message="The weight must be at least 1.",
            ),
            models.CheckConstraint(
                name="creative_click_url_http",
                condition=Q(click_url__startswith="http://") | Q(click_url__startswith="https://"),
                violation_error_message="The click-through URL must start with http:// or https://.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.kind == self.Kind.IMAGE:
            if not self.image:
                errors["image"] = "An image banner needs an image."
            if not self.alt_text.strip():
                errors["alt_text"] = "Describe the banner for readers who cannot see it."
        else:
            if not self.headline.strip():
                errors["headline"] = "A text promo strip needs a headline."
            if not self.cta_label.strip():
                errors["cta_label"] = "A text promo strip needs a call-to-action label."
        if self.countdown_id and self.kind != self.Kind.TEXT:
            errors["countdown"] = "Only a text promo strip can carry a countdown."
        if errors:
            raise ValidationError(errors, code="creative_invalid")

    def state(self, at: datetime | None = None) -> State:
        if not self.is_active:
            return State.PAUSED
        return self.campaign.state(at)

    def after_save(self) -> None:
        refresh_renditions(self, "image", "image_renditions")


def slot_misfits(
    *, kind: str, width: int | None, height: int | None, slots: list[Slot]
) -> list[str]:
    """Reasons why a creative of this kind and size cannot show in some of ``slots``."""
    reasons = [slot.misfit_reason(kind, width, height) for slot in slots]
    return [reason for reason in reasons if reason]
