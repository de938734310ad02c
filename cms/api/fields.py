"""Serializer fields that take a JSON value only of the type the schema declares.

DRF reads ``0`` as the string ``"0"`` or as ``false``, and ``"yes"`` as ``true``: a client
that sends the wrong type is told so (a 400), as the OpenAPI schema says, instead of storing
something it did not mean. Form data (multipart) carries text only, so there ``true`` and
``false`` are the booleans and any text is a string.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers
from rest_framework.relations import PrimaryKeyRelatedField, SlugRelatedField

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

    target_class = SlugRelatedField
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
