"""Template filters of the reference pages (``{% load site %}``): the API's JSON as HTML."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.utils.dateparse import parse_datetime

register = template.Library()

# The rendition a page shows by default, largest last (srcset lists them all).
RENDITION_ORDER = ("thumbnail", "medium", "large", "original")


@register.filter
def isotime(value: Any) -> datetime | None:
    """An ISO 8601 string of the API as a datetime (for ``|date``), None when not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        return None


@register.filter
def rendition(image: Any, name: str = "medium") -> dict[str, Any] | None:
    """The rendition ``name`` of an API image (or the nearest larger, else the original)."""
    renditions = (image or {}).get("renditions") or []
    by_name = {item.get("name"): item for item in renditions}
    if name in by_name:
        return by_name[name]
    start = RENDITION_ORDER.index(name) if name in RENDITION_ORDER else 0
    for other in RENDITION_ORDER[start:]:
        if other in by_name:
            return by_name[other]
    return renditions[0] if renditions else None


@register.filter
def srcset(image: Any) -> str:
    """``url 320w, url 768w, ...`` of an API image's renditions, one per width."""
    seen: dict[int, str] = {}
    for item in (image or {}).get("renditions") or []:
        width = item.get("width")
        if isinstance(width, int) and width not in seen:
            seen[width] = item.get("url", "")
    return ", ".join(f"{url} {width}w" for width, url in sorted(seen.items()) if url)


@register.filter
def get(mapping: Any, key: str) -> Any:
    """``mapping[key]`` (None when absent): for keys with dashes, such as slot keys."""
    return mapping.get(key) if isinstance(mapping, dict) else None
