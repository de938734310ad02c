"""Commercial models, one module per concern; import them from ``sponsors.models``."""

from sponsors.models.inventory import (
    Campaign,
    Creative,
    DeliveryCounter,
    FlushedBatch,
    Slot,
    State,
    TrackingReceipt,
)
from sponsors.models.profiles import Sponsor

__all__ = [
    "Campaign",
    "Creative",
    "DeliveryCounter",
    "FlushedBatch",
    "Slot",
    "Sponsor",
    "State",
    "TrackingReceipt",
]
