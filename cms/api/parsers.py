"""The API's parsers: DRF's, refusing text that no database can hold, in every field.

A NUL byte (PostgreSQL refuses it in text, and answers a query holding one with an error)
or a lone surrogate (``"\\ud800"``: valid JSON, but no UTF-8 text, which neither PostgreSQL
nor SQLite can store or even compare) in any value of a JSON, multipart or form body is the
field's 400 before any view, serializer or validator sees it, so none of them can send it
to the database (DRF's unique validators, for one, query with whatever they are given).
Query strings and paths are decoded by Django with replacement characters, so they hold
no surrogate; their NUL bytes are refused by the fields and filters that read them, and
slug routes take slugs only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.http import QueryDict
from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError

NUL = "Null characters are not allowed."  # Django's and DRF's own message for them
SURROGATE = "Not valid text: it holds a lone surrogate (\\ud800-\\udfff)."


def _strings(data: Any) -> Iterator[str]:
    """Every string in a parsed document (keys too), without recursion (a document nested
    thousands deep is no reason for a RecursionError)."""
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, (list, tuple)):
            stack.extend(node)


def _problem(text: str) -> str | None:
    if "\x00" in text:
        return NUL
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return SURROGATE
    return None


def refuse_unstorable(fields: Iterable[tuple[Any, Any]]) -> None:
    """A 400 naming each field whose value (at any depth) holds text no database can hold;
    a field whose name is such text is an error of the whole request."""
    errors: dict[str, list[str]] = {}
    for name, value in fields:
        key = str(name)
        if _problem(key):
            errors.setdefault("non_field_errors", [_problem(key) or NUL])
            continue
        for text in _strings(value):
            problem = _problem(text)
            if problem:
                errors[key] = [problem]
                break
    if errors:
        raise ValidationError(errors)


def _query_dict_fields(data: QueryDict) -> Iterator[tuple[str, list[Any]]]:
    yield from data.lists()


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:  # Python's decoder, past its depth: not a ValueError
            raise ParseError("JSON parse error - nested too deeply.") from None
        refuse_unstorable(data.items() if isinstance(data, dict) else [("non_field_errors", data)])
        return data


class MultiPartParser(parsers.MultiPartParser):
    """multipart/form-data that holds at least one part, and text a database can hold.

    Django's parser reads a body it cannot split into parts (garbage, a lone closing
    boundary) as no fields at all, so a PATCH of such a body would change nothing and
    answer 200. A multipart body has one part or more (RFC 2046); an empty body never
    reaches a parser (DRF reads it as no data). File names need nothing: Django drops their
    non-printable characters.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        if isinstance(parsed, parsers.DataAndFiles) and not parsed.data and not parsed.files:
            raise ParseError("Multipart form parse error - the body holds no part.")
        refuse_unstorable(_query_dict_fields(parsed.data))
        return parsed


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        refuse_unstorable(_query_dict_fields(data))
        return data
