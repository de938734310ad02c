"""Serializer fields the whole API shares."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

from django.db.models import Model
from django.urls.converters import SlugConverter
from django.utils.encoding import smart_str
from rest_framework import serializers
from rest_framework.relations import MANY_RELATION_KWARGS

SLUG = re.compile(SlugConverter.regex)
SHOWN = 100  # characters of a refused value the error message repeats

_MT = TypeVar("_MT", bound=Model)


class ManySlugsField(serializers.ManyRelatedField):
    """A list of slugs: a JSON object is not one (DRF would take its keys)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            self.fail("not_a_list", input_type=type(data).__name__)
        return super().to_internal_value(data)


class SlugRelatedField(serializers.SlugRelatedField[_MT]):
    """DRF's ``SlugRelatedField`` that looks up only what a slug can be.

    A value that cannot be one (not text, characters outside slugs, a NUL byte among them,
    or longer than the model's field) names no object: the field's "does not exist" error,
    without a query. With ``many=True`` a JSON object is no list (DRF's own field would
    take its keys). Every slug lookup of the API uses this field.
    """

    def to_internal_value(self, data: Any) -> _MT:
        if isinstance(data, bool) or not isinstance(data, (str, int)):
            self.fail("invalid")
        text = str(data)
        queryset = self.get_queryset()
        assert queryset is not None  # a writable related field has one
        max_length = getattr(queryset.model._meta.get_field(self.slug_field), "max_length", None)
        too_long = max_length is not None and len(text) > max_length
        if too_long or not SLUG.fullmatch(text):
            shown = text if len(text) <= SHOWN else f"{text[:SHOWN]}…"
            self.fail("does_not_exist", slug_name=self.slug_field, value=smart_str(shown))
        return super().to_internal_value(text)

    @classmethod
    def many_init(cls, *args: Any, **kwargs: Any) -> ManySlugsField:
        list_kwargs: dict[str, Any] = {k: v for k, v in kwargs.items() if k in MANY_RELATION_KWARGS}
        return ManySlugsField(child_relation=cls(*args, **kwargs), **list_kwargs)
