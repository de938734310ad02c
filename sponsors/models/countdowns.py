"""Deadline countdowns: ordered deadline phases, extensions and their immutable history.

A countdown shows the next phase still ahead ("Early bird", "Deadline", "Final deadline"); when
its moment passes it rolls to the next, and after the last one it is closed. The state at a
given instant is computed by ``sponsors.countdowns.countdown_state`` from a snapshot, never
stored, so rolling and closing need no job.
"""

from __future__ import annotations

import zoneinfo
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.utils import timezone

from cms.history import AuditedHistory
from cms.models import AutoSlugMixin
from sponsors import versions

EXTENDED_PREFIX = "Extended"


def countdown_changed(*slugs: str | None) -> None:
    """Serve a change of these countdowns (or their phases) on the next request.

    Replaces their cached snapshots' version tokens, and the ad inventory's: promo strips
    embed their countdown in the ad snapshot.
    """
    versions.bump(versions.INVENTORY)
    names = [versions.countdown(slug) for slug in dict.fromkeys(slugs) if slug]
    versions.bump(*names, timeout=versions.COUNTDOWN_TIMEOUT)


def validate_time_zone(value: str) -> None:
    """Accept only IANA zone names this machine knows (``Europe/London``)."""
    try:
        zoneinfo.ZoneInfo(value)
    # OSError: a name the zone database cannot even look up (too long for a file name, a
    # directory such as "Europe").
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValidationError(
            "“%(value)s” is not a known time zone (use a name such as Europe/London).",
            code="invalid_time_zone",
            params={"value": value},
        ) from exc


def extended_label_for(label: str) -> str:
    """The automatic label of an extended phase: "Deadline" -> "Extended deadline".

    The first letter of the original label is lowered unless the label starts with an acronym
    ("NYC deadline" -> "Extended NYC deadline"); a label that already says "Extended" is kept.
    """
    label = label.strip()
    if label.lower().startswith(EXTENDED_PREFIX.lower()):
        return label
    if len(label) > 1 and label[0].isupper() and not label[1].isupper():
        label = label[0].lower() + label[1:]
    return f"{EXTENDED_PREFIX} {label}"


class Countdown(AutoSlugMixin, models.Model):
    """A countdown to a sequence of deadlines, e.g. the entry deadlines of an awards scheme."""

    title = models.CharField(
        max_length=200, help_text="For example “The Lantern Awards for Marketing”."
    )
    slug = models.SlugField(
        max_length=80,
        unique=True,
        blank=True,
        help_text="Used in the API address and the widget’s data-countdown-slug.",
    )
    slug_source = "title"
    time_zone = models.CharField(
        max_length=64,
        default="Europe/London",
        validators=[validate_time_zone],
        help_text="Deadlines are entered and shown in this zone; they are stored in UTC.",
    )
    closed_message = models.CharField(
        max_length=200,
        default="Entries closed",
        help_text="Shown once the last deadline has passed.",
    )
    closed_link_url = models.URLField(
        "closed link URL",
        blank=True,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="Optional link shown with the closed message (http or https).",
    )
    closed_link_label = models.CharField(
        max_length=80, blank=True, help_text="For example “See the shortlist”."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = AuditedHistory()

    class Meta:
        ordering = ["title", "pk"]

    def __str__(self) -> str:
        return self.title

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def clean(self) -> None:
        if self.closed_link_label and not self.closed_link_url:
            message = f"Give the address the “{self.closed_link_label}” link goes to."
            raise ValidationError({"closed_link_url": message})

    def save(self, *args, **kwargs) -> None:
        previous_slug = None
        if self.pk:
            previous_slug = (
                Countdown.objects.filter(pk=self.pk).values_list("slug", flat=True).first()
            )
        super().save(*args, **kwargs)
        countdown_changed(self.slug, previous_slug)

    def delete(self, *args, **kwargs):
        slug = self.slug
        result = super().delete(*args, **kwargs)
        countdown_changed(slug)
        return result


class DeadlinePhase(models.Model):
    """One deadline of a countdown. Its time changes only through an extension (with history)."""

    countdown = models.ForeignKey(Countdown, on_delete=models.CASCADE, related_name="phases")
    label = models.CharField(
        max_length=80, help_text="For example “Early bird”, “Deadline”, “Final deadline”."
    )
    deadline = models.DateTimeField(
        help_text="The moment this phase ends (stored in UTC, to the second)."
    )
    original_deadline = models.DateTimeField(
        editable=False, help_text="The deadline as first set, before any extension."
    )
    extended_label = models.CharField(
        "label once extended",
        max_length=80,
        blank=True,
        help_text="Shown instead of the label while the phase is extended; blank: “Extended "
        "<label>” (“Deadline” reads “Extended deadline”).",
    )

    history = AuditedHistory()

    class Meta:
        ordering = ["deadline", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["countdown", "deadline"], name="countdown_phase_deadline_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.display_label

    @property
    def extended(self) -> bool:
        """True while the deadline is later than first set (a correction back is not one)."""
        return bool(self.original_deadline and self.deadline > self.original_deadline)

    @property
    def display_label(self) -> str:
        if not self.extended:
            return self.label
        return self.extended_label or extended_label_for(self.label)

    def save(self, *args, **kwargs) -> None:
        # Deadlines are kept to the whole second: clients compare them to the second.
        self.deadline = self.deadline.replace(microsecond=0)
        if self.original_deadline is None:
            self.original_deadline = self.deadline
        super().save(*args, **kwargs)
        countdown_changed(self._countdown_slug())

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        slug = self._countdown_slug()
        result = super().delete(*args, **kwargs)
        countdown_changed(slug)
        return result

    def _countdown_slug(self) -> str | None:
        # Read afresh: the countdown object this phase holds may carry an unsaved slug.
        return Countdown.objects.filter(pk=self.countdown_id).values_list("slug", flat=True).first()


class ImmutableRowError(Exception):
    """Raised when code tries to change or delete a history row."""


class DeadlineExtensionQuerySet(models.QuerySet["DeadlineExtension"]):
    def update(self, **kwargs):
        raise ImmutableRowError("Deadline extensions are history: they cannot be changed.")

    def delete(self):
        raise ImmutableRowError("Deadline extensions are history: they cannot be deleted.")


class DeadlineExtension(models.Model):
    """One change of a phase's deadline: who, when, old and new time, why. Never changed."""

    countdown = models.ForeignKey(Countdown, on_delete=models.PROTECT, related_name="extensions")
    phase = models.ForeignKey(DeadlinePhase, on_delete=models.PROTECT, related_name="extensions")
    phase_label = models.CharField(
        max_length=80, help_text="The phase’s label when it was extended."
    )
    old_deadline = models.DateTimeField()
    new_deadline = models.DateTimeField()
    reason = models.TextField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    changed_by_name = models.CharField(
        "changed by", max_length=150, help_text="Kept even if the account is deleted later."
    )
    created_at = models.DateTimeField("changed at", default=timezone.now)

    objects = DeadlineExtensionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "deadline extension"
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(old_deadline=models.F("new_deadline")),
                name="deadline_extension_changes_time",
            ),
        ]

    def __str__(self) -> str:
        old, new = self.old_deadline, self.new_deadline
        return f"{self.phase_label}: {old:%Y-%m-%d %H:%M} → {new:%Y-%m-%d %H:%M} UTC"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ImmutableRowError("Deadline extensions are history: they cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRowError("Deadline extensions are history: they cannot be deleted.")
