"""Query-parameter filters of the article lists."""

from __future__ import annotations

import django_filters
from django.db.models import Q

from cms.models import Article, Author, Topic


def topic_filter() -> django_filters.ModelChoiceFilter:
    """``?topic=<slug>``: the articles with that topic, main or not (every article list)."""
    return django_filters.ModelChoiceFilter(
        field_name="topics",
        to_field_name="slug",
        queryset=Topic.objects.all(),
        help_text="Topic slug.",
    )


class ArticleFilter(django_filters.FilterSet):
    topic = topic_filter()
    author = django_filters.ModelChoiceFilter(
        field_name="author",
        to_field_name="slug",
        queryset=Author.objects.all(),
        help_text="Author slug.",
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
