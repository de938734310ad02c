"""Serializer fields the whole API shares.

Slug lookups that query only what a slug can be, and fields that take a JSON value only of
the type the schema declares: DRF reads ``0`` as the string ``"0"`` or as ``false``, and
``"yes"`` as ``true``; a client that sends the wrong type is told so (a 400), as the OpenAPI
schema says, instead of storing something it did not mean. Form data (multipart) carries
text only, so there ``true`` and ``false`` are the booleans and any text is a string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

from django.db import models
from django.db.models import Model
from django.urls.converters import SlugConverter
from django.utils.encoding import smart_str
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers
from rest_framework.relations import MANY_RELATION_KWARGS, PrimaryKeyRelatedField
from rest_framework.relations import SlugRelatedField as DRFSlugRelatedField

SLUG = re.compile(SlugConverter.regex)
SHOWN = 100  # characters of a refused value the error message repeats

_MT = TypeVar("_MT", bound=Model)

# Ids are BigAutoField: larger numbers can be no object (and overflow the database driver).
MAX_ID = 2**63 - 1


class StrictTextMixin:
    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid")  # type: ignore[attr-defined]  # a DRF Field's method
        return super().to_internal_value(data)  # type: ignore[misc]  # the DRF field's own


class StrictCharField(StrictTextMixin, serializers.CharField):
    default_error_messages = {"invalid": "Not a valid string."}


class StrictSlugField(StrictTextMixin, serializers.SlugField):
    pass


class StrictURLField(StrictTextMixin, serializers.URLField):
    pass


class StrictEmailField(StrictTextMixin, serializers.EmailField):
    pass


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        if isinstance(data, str) and data in ("true", "false"):  # form data
            return data == "true"
        self.fail("invalid")
        raise AssertionError  # fail() raises


class StrictModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer whose text and boolean fields take only their declared type."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.SlugField: StrictSlugField,
        models.URLField: StrictURLField,
        models.EmailField: StrictEmailField,
        models.BooleanField: StrictBooleanField,
    }


class SlugRelatedFieldExtension(OpenApiSerializerFieldExtension):
    """A related object by slug: the schema says the slug is not empty (an empty one is no
    object: DRF reads it as null, refused where null is)."""

    target_class = DRFSlugRelatedField
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if not getattr(self.target, "allow_null", False) and schema.get("type") == "string":
            schema.setdefault("minLength", 1)
        return schema


class PrimaryKeyRelatedFieldExtension(OpenApiSerializerFieldExtension):
    """A related object by id: a whole number from 1 (ids are never 0 or less)."""

    target_class = PrimaryKeyRelatedField
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if schema.get("type") == "integer":
            schema.setdefault("minimum", 1)
        return schema


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
