"""Query-parameter filters of the API's lists, and the filter backend every list uses.

What the schema says of a filter parameter is what the backend holds it to (schemathesis
checks both ways, ``.ci/fuzz.py``): a parameter sent empty is a 400 unless it is free text
(``search=`` is no filter; ``kind=``, ``topic=`` or ``published_after=`` mean nothing), and a
slug of no such topic, author or sponsor is a 404, as on ``/trending/`` (a well-formed request
for something that does not exist), where anything else malformed is a 400.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Q
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import NotFound, ValidationError

from cms.api.fields import MAX_ID
from cms.models import Article, Author, Topic

EMPTY_VALUE = "Give a value, or leave the parameter out."


@extend_schema_field({"type": "string", "minLength": 1})
class SlugChoiceFilter(django_filters.ModelChoiceFilter):
    """An object chosen by its slug; an unknown slug is a 404 (see ``FilterBackend``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("to_field_name", "slug")
        super().__init__(*args, **kwargs)


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(django_filters.NumberFilter):
    """An object's id: a whole number of at least 1 (not any decimal, as NumberFilter takes)."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, held to what the schema declares (module docstring)."""

    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is None:
            return None
        empty = {
            name: [EMPTY_VALUE]
            for name, declared in filterset.filters.items()
            if request.query_params.get(name, None) == ""
            and not isinstance(declared, django_filters.CharFilter)
        }
        if empty:
            raise ValidationError(empty)
        if not filterset.is_valid():
            errors = filterset.form.errors.as_data()
            unknown = [
                name
                for name, field_errors in errors.items()
                if isinstance(filterset.filters.get(name), SlugChoiceFilter)
                and all(error.code == "invalid_choice" for error in field_errors)
            ]
            if unknown and len(unknown) == len(errors):
                raise NotFound(f"No such {unknown[0]}.")
        return filterset


def topic_filter() -> SlugChoiceFilter:
    """``?topic=<slug>``: the articles with that topic, main or not (every article list)."""
    return SlugChoiceFilter(
        field_name="topics",
        queryset=Topic.objects.all(),
        help_text="Topic slug (unknown: 404).",
    )


class ArticleFilter(django_filters.FilterSet):
    topic = topic_filter()
    author = SlugChoiceFilter(
        field_name="author",
        queryset=Author.objects.all(),
        help_text="Author slug (unknown: 404).",
    )
    kind = django_filters.ChoiceFilter(choices=Article.Kind.choices)
    published_after = django_filters.DateFilter(
        field_name="published_at",
        lookup_expr="date__gte",
        help_text="Published on or after this date (YYYY-MM-DD).",
    )
    published_before = django_filters.DateFilter(
        field_name="published_at",
        lookup_expr="date__lte",
        help_text="Published on or before this date (YYYY-MM-DD).",
    )
    search = django_filters.CharFilter(
        method="filter_search", max_length=200, help_text="Words in the headline or standfirst."
    )

    class Meta:
        model = Article
        fields = ["topic", "author", "kind", "published_after", "published_before", "search"]

    def filter_search(self, queryset, name, value):
        for word in value.split()[:10]:
            queryset = queryset.filter(Q(headline__icontains=word) | Q(standfirst__icontains=word))
        return queryset
