"""Commercial models, one module per concern; import them from ``sponsors.models``."""

from sponsors.models.countdowns import Countdown, DeadlineExtension, DeadlinePhase
from sponsors.models.inventory import (
    Campaign,
    Creative,
    DeliveryCounter,
    FlushedBatch,
    Slot,
    State,
    TrackingReceipt,
)
from sponsors.models.profiles import DisclosureLabel, Partner, Sponsor, Sponsorship

__all__ = [
    "Campaign",
    "Countdown",
    "Creative",
    "DeadlineExtension",
    "DeadlinePhase",
    "DeliveryCounter",
    "DisclosureLabel",
    "FlushedBatch",
    "Partner",
    "Slot",
    "Sponsor",
    "Sponsorship",
    "State",
    "TrackingReceipt",
]
