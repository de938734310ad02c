"""Admin for the commercial app, one module per concern."""

from sponsors.admin import profiles  # noqa: F401
