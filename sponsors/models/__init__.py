"""Commercial models, one module per concern; import them from ``sponsors.models``."""

from sponsors.models.countdowns import Countdown, DeadlineExtension, DeadlinePhase
from sponsors.models.profiles import DisclosureLabel, Partner, Sponsor, Sponsorship

__all__ = [
    "Countdown",
    "DeadlineExtension",
    "DeadlinePhase",
    "DisclosureLabel",
    "Partner",
    "Sponsor",
    "Sponsorship",
]
