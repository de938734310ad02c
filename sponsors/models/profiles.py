"""Sponsor profiles, their disclosure labels and sponsorships, and partner accounts.

A ``Sponsorship`` attaches a sponsor to one article, or to a topic for a date window (all of
that topic's articles then carry the sponsor block while the window is open). Which block an
article shows, and the rule that partner content needs one to be published, live in
``sponsors/sponsorships.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from cms.history import AuditedHistory
from cms.images import SafeImageField, refresh_renditions
from cms.models import AutoSlugMixin
from cms.sanitize import clean_rich_text

# ---------------------------------------------------------------------------------------------
# Logos: raster only. SVG (a document that can carry <script>) is refused by the upload rules
# of every image field (cms.images, reason "image_svg"), logos included.


def refuse_svg(file: Any) -> None:
    """Checks nothing more: the logo field's definition (migrations) names it, and the SVG
    rule it held is now ``validate_image_file``'s, so every image field gives one reason."""


class LogoField(SafeImageField):
    """A ``SafeImageField`` for logos: PNG and WebP keep their transparency; SVG is refused."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        validators = list(kwargs.pop("validators", []))
        if refuse_svg not in validators:
            validators.insert(0, refuse_svg)  # kept so the field's definition is unchanged
        super().__init__(*args, validators=validators, **kwargs)


web_url_validator = URLValidator(
    schemes=["http", "https"], message="Enter a web address starting with http:// or https://."
)


class Sponsor(AutoSlugMixin, models.Model):
    """A company whose profile appears on content it sponsors ("Content created with: TikTok")."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80, unique=True, blank=True)
    slug_source = "name"
    logo = LogoField(
        upload_to="sponsors/",
        blank=True,
        help_text="PNG, WebP, JPEG or GIF; transparency is kept. SVG is refused (it can carry "
        "scripts).",
    )
    logo_renditions = models.JSONField(default=dict, blank=True, editable=False)
    description = models.TextField(
        blank=True,
        help_text="Plain text; bold, italics and links are kept, any other markup is removed.",
    )
    website_url = models.URLField(
        "Find out more URL",
        blank=True,
        validators=[web_url_validator],
        help_text="Where “Find out more” links to (http or https).",
    )
    contact_email = models.EmailField(blank=True)
    is_active = models.BooleanField(
        "active",
        default=True,
        help_text="Inactive sponsors disappear from the API and their sponsorships stop showing.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = AuditedHistory(excluded_fields=["logo_renditions"])

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.description = clean_rich_text(self.description)
        super().save(*args, **kwargs)
        refresh_renditions(self, "logo", "logo_renditions")


class DisclosureLabel(AutoSlugMixin, models.Model):
    """One wording of the managed list shown above sponsored content ("Sponsored by")."""

    text = models.CharField(max_length=60, unique=True, help_text='For example "Sponsored by".')
    slug = models.SlugField(max_length=60, unique=True, blank=True)
    slug_source = "text"
    position = models.PositiveSmallIntegerField(default=0, help_text="Order in choice lists.")
    is_active = models.BooleanField(
        "offered",
        default=True,
        help_text="Only offered labels can be chosen for new sponsorships; existing ones keep "
        "theirs.",
    )

    class Meta:
        ordering = ["position", "text"]

    def __str__(self) -> str:
        return self.text


# The label approval of a partner submission uses (created by migration 0002_sponsorships).
DEFAULT_LABEL_SLUG = "content-created-with"


class SponsorshipQuerySet(models.QuerySet["Sponsorship"]):
    @staticmethod
    def live_q(at: datetime | None = None) -> Q:
        """Condition for a sponsorship that shows at ``at`` (default now).

        Its window has opened (or has no start), has not closed (or has no end), and its
        sponsor is active. The end is exclusive: at ``ends_at`` the block is gone.
        """
        at = at or timezone.now()
        return (
            (Q(starts_at__isnull=True) | Q(starts_at__lte=at))
            & (Q(ends_at__isnull=True) | Q(ends_at__gt=at))
            & Q(sponsor__is_active=True)
        )

    def live(self, at: datetime | None = None) -> SponsorshipQuerySet:
        return self.filter(self.live_q(at))

    def ended(self, at: datetime | None = None) -> SponsorshipQuerySet:
        return self.filter(ends_at__lte=at or timezone.now())

    def upcoming(self, at: datetime | None = None) -> SponsorshipQuerySet:
        return self.filter(starts_at__gt=at or timezone.now())

    def newest_first(self) -> SponsorshipQuerySet:
        """The order in which a block is chosen: the most recently started wins."""
        return self.order_by(F("starts_at").desc(nulls_last=True), "-pk")

    def for_display(self) -> SponsorshipQuerySet:
        return self.select_related("sponsor", "label")


class Sponsorship(models.Model):
    """A sponsor on one article, or on a topic (all its articles) for a date window."""

    sponsor = models.ForeignKey(Sponsor, on_delete=models.PROTECT, related_name="sponsorships")
    label = models.ForeignKey(
        DisclosureLabel,
        on_delete=models.PROTECT,
        related_name="sponsorships",
        limit_choices_to={"is_active": True},
        verbose_name="disclosure label",
    )
    article = models.ForeignKey(
        "cms.Article",
        on_delete=models.CASCADE,
        related_name="sponsorships",
        null=True,
        blank=True,
        help_text="The sponsored article, or leave empty and choose a topic.",
    )
    topic = models.ForeignKey(
        "cms.Topic",
        on_delete=models.CASCADE,
        related_name="sponsorships",
        null=True,
        blank=True,
        help_text="Sponsor every article of this topic while the dates are open.",
    )
    starts_at = models.DateTimeField(
        null=True, blank=True, help_text="Shows from this time (empty: from now on)."
    )
    ends_at = models.DateTimeField(
        null=True, blank=True, help_text="Stops showing at this time (empty: no end)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SponsorshipQuerySet.as_manager()
    history = AuditedHistory()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                name="sponsorship_has_one_target",
                condition=Q(article__isnull=False, topic__isnull=True)
                | Q(article__isnull=True, topic__isnull=False),
                violation_error_message="Choose either an article or a topic, not both.",
            ),
            models.CheckConstraint(
                name="sponsorship_ends_after_it_starts",
                condition=Q(starts_at__isnull=True)
                | Q(ends_at__isnull=True)
                | Q(ends_at__gt=F("starts_at")),
                violation_error_message="The end must come after the start.",
            ),
            models.CheckConstraint(
                name="topic_sponsorship_has_dates",
                condition=Q(topic__isnull=True) | Q(starts_at__isnull=False, ends_at__isnull=False),
                violation_error_message="A topic sponsorship needs a start and an end.",
            ),
        ]

    def __str__(self) -> str:
        target = self.article or self.topic
        return f"{self.label} {self.sponsor} on {target}"

    def clean(self) -> None:
        if bool(self.article_id) == bool(self.topic_id):
            raise ValidationError(
                "Choose the sponsored article or the sponsored topic (one of them).",
                code="one_target",
            )
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError(
                {"ends_at": "The end must come after the start."}, code="window_order"
            )
        if self.topic_id and not (self.starts_at and self.ends_at):
            raise ValidationError(
                "A topic sponsorship covers a date window: give both a start and an end.",
                code="topic_window",
            )

    def is_live(self, at: datetime | None = None) -> bool:
        at = at or timezone.now()
        return (
            (self.starts_at is None or self.starts_at <= at)
            and (self.ends_at is None or self.ends_at > at)
            and self.sponsor.is_active
        )

    @property
    def target_kind(self) -> str:
        return "article" if self.article_id else "topic"


class Partner(models.Model):
    """A login of a sponsor's staff who may submit content ("Add your own content +").

    Ad-ops staff create partner accounts in the admin and issue their API tokens there; the
    account's user is in the "Partners" group and never has admin (staff) access.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="partner"
    )
    sponsor = models.ForeignKey(Sponsor, on_delete=models.PROTECT, related_name="partners")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )

    class Meta:
        ordering = ["sponsor__name", "user__username"]
        verbose_name = "partner account"

    def __str__(self) -> str:
        return f"{self.user} ({self.sponsor})"
