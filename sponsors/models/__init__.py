"""Commercial models, one module per concern; import them from ``sponsors.models``."""

from sponsors.models.profiles import Sponsor

__all__ = ["Sponsor"]
