"""Admin for the commercial app, one module per concern."""

from sponsors.admin import inventory, profiles  # noqa: F401
