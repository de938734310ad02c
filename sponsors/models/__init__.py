"""Commercial models, one module per concern; import them from ``sponsors.models``."""

from sponsors.models.calendar import Calendar, CalendarFeed
from sponsors.models.countdowns import Countdown, DeadlineExtension, DeadlinePhase
from sponsors.models.counting import (
    ArticleReadCounter,
    DailyDeliveryCounter,
    DailyUncountedCounter,
    DeliveryCounter,
    DeliveryReport,
    Event,
    FlushedBatch,
    Reason,
    TrackingReceipt,
    UncountedCounter,
)
from sponsors.models.inventory import Campaign, Creative, Slot, State
from sponsors.models.profiles import DisclosureLabel, Partner, Sponsor, Sponsorship

__all__ = [
    "ArticleReadCounter",
    "Calendar",
    "CalendarFeed",
    "Campaign",
    "Countdown",
    "Creative",
    "DailyDeliveryCounter",
    "DailyUncountedCounter",
    "DeadlineExtension",
    "DeadlinePhase",
    "DeliveryCounter",
    "DeliveryReport",
    "DisclosureLabel",
    "Event",
    "FlushedBatch",
    "Partner",
    "Reason",
    "Slot",
    "Sponsor",
    "Sponsorship",
    "State",
    "TrackingReceipt",
    "UncountedCounter",
]
