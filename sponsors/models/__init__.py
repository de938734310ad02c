"""Commercial models, one module per concern; import them from ``sponsors.models``."""

from sponsors.models.profiles import DisclosureLabel, Partner, Sponsor, Sponsorship

__all__ = ["DisclosureLabel", "Partner", "Sponsor", "Sponsorship"]
