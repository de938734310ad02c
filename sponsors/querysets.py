"""State-named querysets for ad inventory: ``live(at=...)``, ``scheduled()``, ``ended()``,
``paused()``.

The four states are exclusive: a paused campaign (or creative) is "paused" whatever its
dates; an active one is scheduled, live or ended by the clock. Nothing needs a job to move a
campaign from scheduled to live to ended: the query decides by ``at`` (default: now). The
``campaign_*_q`` conditions are the SQL form of ``sponsors.decision.date_state``; a test holds
them equal on every boundary.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Q
from django.utils import timezone

if TYPE_CHECKING:  # for the type checker only: the models import these querysets
    from sponsors.models import Campaign, Creative, Slot  # noqa: F401  # named in the base classes


def _now(at: datetime | None) -> datetime:
    return at or timezone.now()


def campaign_live_q(at: datetime | None = None, prefix: str = "") -> Q:
    at = _now(at)
    return Q(**{f"{prefix}is_active": True, f"{prefix}starts_at__lte": at}) & (
        Q(**{f"{prefix}ends_at__isnull": True}) | Q(**{f"{prefix}ends_at__gt": at})
    )


def campaign_scheduled_q(at: datetime | None = None, prefix: str = "") -> Q:
    return Q(**{f"{prefix}is_active": True, f"{prefix}starts_at__gt": _now(at)})


def campaign_ended_q(at: datetime | None = None, prefix: str = "") -> Q:
    return Q(**{f"{prefix}is_active": True, f"{prefix}ends_at__lte": _now(at)})


def campaign_not_ended_q(at: datetime | None = None, prefix: str = "") -> Q:
    """Active and not ended: live now or still to come (what the decision may serve)."""
    return Q(**{f"{prefix}is_active": True}) & (
        Q(**{f"{prefix}ends_at__isnull": True}) | Q(**{f"{prefix}ends_at__gt": _now(at)})
    )


class SlotQuerySet(models.QuerySet["Slot"]):
    def for_key(self, key: str) -> Slot:
        """The slot front ends call ``key`` (raises DoesNotExist)."""
        return self.get(key=key)

    def active(self) -> SlotQuerySet:
        return self.filter(is_active=True)


class CampaignQuerySet(models.QuerySet["Campaign"]):
    def live(self, at: datetime | None = None) -> CampaignQuerySet:
        """Active campaigns within their dates at ``at``."""
        return self.filter(campaign_live_q(at))

    def scheduled(self, at: datetime | None = None) -> CampaignQuerySet:
        """Active campaigns whose start is still ahead."""
        return self.filter(campaign_scheduled_q(at))

    def ended(self, at: datetime | None = None) -> CampaignQuerySet:
        """Active campaigns whose end has passed."""
        return self.filter(campaign_ended_q(at))

    def paused(self) -> CampaignQuerySet:
        return self.filter(is_active=False)

    def not_ended(self, at: datetime | None = None) -> CampaignQuerySet:
        """Active campaigns that are live or still to come: what the decision may serve."""
        return self.filter(campaign_not_ended_q(at))

    def for_listing(self) -> CampaignQuerySet:
        return self.select_related("sponsor")


class CreativeQuerySet(models.QuerySet["Creative"]):
    """A creative's state combines its own switch with its campaign's."""

    def live(self, at: datetime | None = None) -> CreativeQuerySet:
        return self.filter(Q(is_active=True) & campaign_live_q(at, "campaign__"))

    def scheduled(self, at: datetime | None = None) -> CreativeQuerySet:
        return self.filter(Q(is_active=True) & campaign_scheduled_q(at, "campaign__"))

    def ended(self, at: datetime | None = None) -> CreativeQuerySet:
        return self.filter(Q(is_active=True) & campaign_ended_q(at, "campaign__"))

    def paused(self) -> CreativeQuerySet:
        """Creatives paused themselves or through their campaign."""
        return self.filter(Q(is_active=False) | Q(campaign__is_active=False))

    def servable(self, at: datetime | None = None) -> CreativeQuerySet:
        """Active creatives of active campaigns that have not ended: live now or scheduled.

        The decision snapshot holds these, so a scheduled creative goes live by the clock
        without any rebuild.
        """
        return self.filter(Q(is_active=True) & campaign_not_ended_q(at, "campaign__"))

    def in_slot(self, slot: Slot | int) -> CreativeQuerySet:
        return self.filter(slots=slot)

    def for_listing(self) -> CreativeQuerySet:
        """With what lists and the API show: campaign, sponsor, countdown, slots, topics."""
        return self.select_related("campaign__sponsor", "countdown").prefetch_related(
            "slots", "include_topics", "exclude_topics"
        )
