"""Receivers of editorial saves that change what the commercial app has cached.

Cache invalidation only (connected in ``SponsorsConfig.ready()``); business rules live in
services.
"""

from __future__ import annotations

from typing import Any

from sponsors import versions


def topic_changed(sender: type, **kwargs: Any) -> None:
    """A topic saved or deleted: the ad snapshot targets by topic slug, so rebuild it."""
    versions.bump(versions.INVENTORY)
