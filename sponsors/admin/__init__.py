"""Admin for the commercial app, one module per concern."""

from sponsors.admin import countdowns, inventory, profiles, reports  # noqa: F401
