"""Personal calendar feeds: the secret address a staff member's calendar app subscribes to.

What a feed shows, how it is written (iCalendar) and how it is created, rotated and revoked
live in ``sponsors.calendar``. ``Calendar`` is not data: it is the admin's entry for the
calendar page (a proxy with no permissions of its own; the page shows each person what their
permissions on articles, sponsorships, campaigns and countdowns let them see).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

# 32 random bytes, URL-safe base64: 43 characters, 256 bits nobody can guess.
TOKEN_BYTES = 32


def new_feed_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


class CalendarFeedQuerySet(models.QuerySet["CalendarFeed"]):
    def active(self) -> CalendarFeedQuerySet:
        """Feeds that still answer (not revoked or rotated away)."""
        return self.filter(revoked_at__isnull=True)


class CalendarFeed(models.Model):
    """One secret feed address of a staff member; at most one is active per person.

    Rotating revokes the active feed and makes a new one; a revoked row stays as a record of
    when the address stopped working. The token is kept as issued (not hashed) so that its
    owner can see and copy the address again: whoever could read it from the database could
    read the events it shows there too.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds"
    )
    token = models.CharField(max_length=64, unique=True, default=new_feed_token, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When the address stopped working."
    )
    last_fetched_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When a calendar app last read it."
    )

    objects = CalendarFeedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "calendar feed"
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(revoked_at__isnull=True),
                name="calendar_feed_one_active_per_user",
                violation_error_message="A person has at most one active calendar feed.",
            ),
        ]

    def __str__(self) -> str:
        state = "active" if self.is_active else "revoked"
        return f"Calendar feed of {self.user} ({state})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Calendar(CalendarFeed):
    """The admin's "Calendar" entry (``admin:sponsors_calendar``); it has no rows of its own."""

    class Meta:
        proxy = True
        default_permissions = ()
        verbose_name = "calendar"
        verbose_name_plural = "calendar"
