"""Admin for the commercial app, one module per concern."""

from sponsors.admin import calendar, countdowns, dashboard, inventory, profiles, reports  # noqa: F401
