"""Request body parsers of the API."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import DataAndFiles, MultiPartParser


class StrictMultiPartParser(MultiPartParser):
    """multipart/form-data that holds at least one part.

    Django's parser reads a body it cannot split into parts (garbage, a lone closing
    boundary) as no fields at all, so a PATCH of such a body would change nothing and
    answer 200. A multipart body has one part or more (RFC 2046); an empty body never
    reaches a parser (DRF reads it as no data).
    """

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        parsed = super().parse(stream, media_type, parser_context)
        if isinstance(parsed, DataAndFiles) and not parsed.data and not parsed.files:
            raise ParseError("Multipart form parse error - the body holds no part.")
        return parsed
