"""Staff API for ad-ops: sponsors (with their logos), disclosure labels and sponsorships.

The callers, permissions and error format of ``sponsors.api.ad_ops``: staff tokens with the
model permission of the verb (``view_`` to read, ``add_``/``change_``/``delete_`` to write).
Writes are validated by the models (``full_clean``: field rules, constraints, ``clean()``)
as in the admin, and a logo passes the admin's own upload field (SVG refused with the
reason, then the image rules of every upload). A save reaches the public API on its next
request: the models' save receivers (``sponsors/receivers.py``) replace the versions of the
payloads that show it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import ProtectedError, Q
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import JSONParser

from cms.api.errors import error_response
from cms.api.parsers import StrictMultiPartParser
from cms.api.serializers import RenditionSerializer
from cms.images import rendition_urls
from cms.models import Article, Topic
from sponsors.api.ad_ops import ERRORS_ONE, InventorySerializer, StaffViewSet, _crud_schema
from sponsors.models import DisclosureLabel, Sponsor, Sponsorship
from sponsors.models.profiles import web_url_validator
from sponsors.sponsorships import SponsorshipState, sponsorship_status

SEARCH_MAX_LENGTH = 200
SEARCH_MAX_WORDS = 10
SLUG_MAX_LENGTH = 80


# ---------------------------------------------------------------------------------------------
# Shared by the staff API's profile and countdown endpoints


class InUseError(exceptions.APIException):
    """A delete refused because other records depend on the object (``on_delete=PROTECT``)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "protected"
    default_detail = "Other records depend on this, so it cannot be deleted."


def in_use_detail(error: ProtectedError, advice: str) -> str:
    """ "It is still used by 2 campaigns and 1 sponsorship: <advice>" from a ProtectedError."""
    counts = Counter(
        (str(obj._meta.verbose_name), str(obj._meta.verbose_name_plural))
        for obj in error.protected_objects
    )
    parts = [
        f"{n} {singular if n == 1 else plural}" for (singular, plural), n in sorted(counts.items())
    ]
    return f"It is still used by {', '.join(parts)}: {advice}"


@extend_schema_field(
    {
        "anyOf": [
            {"type": "string", "format": "uri", "maxLength": 200},
            {"type": "string", "maxLength": 0},
        ]
    }
)
class BlankableURLField(serializers.URLField):
    """A web address or "" (none). Declared with ``anyOf``: "" is no URI, but a validator
    that does not check the ``uri`` format would find it valid twice under ``oneOf``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=200, allow_blank=True, required=False, **kwargs)


def conflict_response(description: str) -> dict:
    return {status.HTTP_409_CONFLICT: error_response(description)}


class ProtectedDeleteMixin:
    """A delete that other records forbid answers 409 saying which and what to do instead."""

    in_use_advice = "remove those first."

    @transaction.atomic  # a refused delete leaves nothing half done
    def perform_destroy(self, instance: Any) -> None:
        try:
            instance.delete()
        except ProtectedError as error:
            raise InUseError(in_use_detail(error, self.in_use_advice)) from None


def staff_crud_schema(noun: str, serializer: Any, *, conflict: str | None = None) -> dict:
    """``_crud_schema`` of the inventory endpoints, with this resource's own 409 (or none)."""
    schema = _crud_schema(noun, serializer)
    responses = {204: OpenApiResponse(description="Deleted."), **ERRORS_ONE}
    if conflict:
        responses.update(conflict_response(conflict))
    schema["destroy"] = extend_schema(summary=f"Delete a {noun.lower()}", responses=responses)
    return schema


def text_filter(*, max_length: int, help_text: str, **kwargs: Any) -> django_filters.CharFilter:
    """A text query parameter whose length limit is checked (400) and declared in the schema."""
    schema = {"type": "string", "maxLength": max_length}
    return extend_schema_field(schema)(
        django_filters.CharFilter(max_length=max_length, help_text=help_text, **kwargs)
    )


def search_filter(help_text: str) -> django_filters.CharFilter:
    """``?search=words``: every word (at most ten) appears in one of the filter's fields."""
    return text_filter(max_length=SEARCH_MAX_LENGTH, help_text=help_text, method="filter_search")


def slug_filter(field_name: str, help_text: str) -> django_filters.CharFilter:
    return text_filter(max_length=SLUG_MAX_LENGTH, help_text=help_text, field_name=field_name)


class StrictBooleanField(forms.Field):
    """``true``/``false`` (or ``1``/``0``); anything else is an error, not "no filter"."""

    def to_python(self, value: Any) -> bool | None:
        if value in self.empty_values:
            return None
        answer = {"true": True, "1": True, "false": False, "0": False}.get(str(value).lower())
        if answer is None:
            raise DjangoValidationError("Enter true or false.", code="invalid")
        return answer


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class SearchFilterSet(django_filters.FilterSet):
    search_fields: tuple[str, ...] = ()

    def filter_search(self, queryset, name, value):
        for word in value.split()[:SEARCH_MAX_WORDS]:
            match = Q()
            for field in self.search_fields:
                match |= Q(**{f"{field}__icontains": word})
            queryset = queryset.filter(match)
        return queryset


def slug_field(model_name: str, **kwargs: Any) -> dict:
    """``error_messages`` that name what was not found, for a slug-related field."""
    return {
        "slug_field": "slug",
        "error_messages": {"does_not_exist": f"No {model_name} has the slug “{{value}}”."},
        **kwargs,
    }


# ---------------------------------------------------------------------------------------------
# Sponsors


class LogoUploadField(serializers.FileField):
    """The logo file, checked by the admin's own form field for it (``LogoFormField``)."""

    def to_internal_value(self, data):
        upload = super().to_internal_value(data)  # a file at all (name, size), or a 400
        form_field = Sponsor._meta.get_field("logo").formfield(required=False)
        try:
            return form_field.clean(upload)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None


class LogoInfoSerializer(serializers.Serializer):
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    renditions = RenditionSerializer(many=True)


class StaffSponsorSerializer(InventorySerializer):
    logo = LogoUploadField(
        write_only=True,
        required=False,
        allow_null=True,
        max_length=100,
        help_text="The logo file (multipart/form-data): PNG, WebP, JPEG or GIF, transparency "
        "kept; SVG is refused (it can carry scripts). Null or an empty value removes the logo.",
    )
    logo_info = serializers.SerializerMethodField(
        help_text="The stored logo's size and renditions, or null."
    )
    website_url = BlankableURLField(
        validators=[web_url_validator], help_text="Where “Find out more” links to (http or https)."
    )

    class Meta:
        model = Sponsor
        fields = [
            "id",
            "name",
            "slug",
            "logo",
            "logo_info",
            "description",
            "website_url",
            "contact_email",
            "is_active",
            "created_at",
        ]
        read_only_fields = ["created_at"]
        extra_kwargs = {
            "slug": {"help_text": "Made from the name when left out; kept when the name changes."},
            "description": {
                "help_text": "Bold, italics and http(s)/mailto links are kept; any other markup "
                "is removed."
            },
        }

    @extend_schema_field(LogoInfoSerializer(allow_null=True))
    def get_logo_info(self, sponsor: Sponsor) -> dict | None:
        original = (sponsor.logo_renditions or {}).get("original")
        if not isinstance(original, dict):
            return None
        return {
            "width": original["width"],
            "height": original["height"],
            "renditions": rendition_urls(sponsor.logo_renditions, self.context.get("request")),
        }


class SponsorFilter(SearchFilterSet):
    search_fields = ("name", "slug", "description", "contact_email")
    is_active = StrictBooleanFilter(help_text="Active (true) or inactive (false) sponsors.")
    search = search_filter("Words in the name, slug, description or contact email.")

    class Meta:
        model = Sponsor
        fields = ["is_active", "search"]


SPONSOR_IN_USE = (
    "Campaigns, sponsorships, partner accounts or submissions keep it (the answer names "
    "them): untick is_active instead (inactive sponsors leave the public API and their "
    "sponsorships stop showing)."
)


@extend_schema_view(**staff_crud_schema("Sponsor", StaffSponsorSerializer, conflict=SPONSOR_IN_USE))
class StaffSponsorViewSet(ProtectedDeleteMixin, StaffViewSet):
    """Sponsor profiles: what the "Content created with" block and the sponsor API show."""

    queryset = Sponsor.objects.order_by("name", "pk")
    serializer_class = StaffSponsorSerializer
    filterset_class = SponsorFilter
    parser_classes = [JSONParser, StrictMultiPartParser]
    in_use_advice = "untick is_active instead: inactive sponsors leave the public API."


# ---------------------------------------------------------------------------------------------
# Disclosure labels


class StaffLabelSerializer(InventorySerializer):
    class Meta:
        model = DisclosureLabel
        fields = ["id", "text", "slug", "position", "is_active"]
        extra_kwargs = {
            "slug": {"help_text": "Made from the text when left out."},
            "is_active": {
                "help_text": "Offered: only offered labels can be chosen for sponsorships; "
                "existing ones keep theirs."
            },
        }


class LabelFilter(django_filters.FilterSet):
    is_active = StrictBooleanFilter(help_text="Offered (true) or retired (false) labels.")

    class Meta:
        model = DisclosureLabel
        fields = ["is_active"]


LABEL_IN_USE = (
    "Sponsorships carry this label: set is_active to false instead (it is no longer offered, "
    "and existing sponsorships keep it)."
)


@extend_schema_view(
    **staff_crud_schema("Disclosure label", StaffLabelSerializer, conflict=LABEL_IN_USE)
)
class StaffLabelViewSet(ProtectedDeleteMixin, StaffViewSet):
    """The managed list of disclosure labels ("Content created with", "Sponsored by"...)."""

    queryset = DisclosureLabel.objects.order_by("position", "text", "pk")
    serializer_class = StaffLabelSerializer
    filterset_class = LabelFilter
    in_use_advice = "set is_active to false instead, so it is no longer offered."


# ---------------------------------------------------------------------------------------------
# Sponsorships


class StaffSponsorshipSerializer(InventorySerializer):
    sponsor = serializers.SlugRelatedField(
        **slug_field("sponsor", queryset=Sponsor.objects.all(), help_text="Sponsor slug.")
    )
    label = serializers.SlugRelatedField(  # type: ignore[assignment]  # a field: DRF takes it out of the class
        **slug_field(
            "disclosure label",
            queryset=DisclosureLabel.objects.all(),
            help_text="Disclosure label slug; a new choice must be an offered label.",
        )
    )
    article = serializers.SlugRelatedField(
        **slug_field(
            "article",
            queryset=Article.objects.all(),
            allow_null=True,
            required=False,
            help_text="The sponsored article's slug; or null and give a topic.",
        )
    )
    topic = serializers.SlugRelatedField(
        **slug_field(
            "topic",
            queryset=Topic.objects.all(),
            allow_null=True,
            required=False,
            help_text="Sponsor every article of this topic (slug) between the dates.",
        )
    )
    state = serializers.SerializerMethodField(
        help_text="Now: upcoming, live, ended, or sponsor_inactive (its sponsor is not active)."
    )

    class Meta:
        model = Sponsorship
        fields = [
            "id",
            "sponsor",
            "label",
            "article",
            "topic",
            "starts_at",
            "ends_at",
            "state",
            "created_at",
        ]
        read_only_fields = ["created_at"]

    @extend_schema_field(serializers.ChoiceField(choices=SponsorshipState.choices))
    def get_state(self, sponsorship: Sponsorship) -> str:
        return sponsorship_status(sponsorship, now=self.context.get("now")).value

    def validate_label(self, label: DisclosureLabel) -> DisclosureLabel:
        kept = self.instance is not None and self.instance.label_id == label.pk
        if not label.is_active and not kept:
            raise serializers.ValidationError(
                f"“{label.text}” is no longer offered: choose an offered label."
            )
        return label

    def validate(self, attrs):
        # A label no longer offered stays on the sponsorships that have it ("existing ones
        # keep theirs"): the model's check of offered labels applies to a new choice only.
        if self.instance is not None and attrs.get("label", self.instance.label) == (
            self.instance.label
        ):
            self.relations = ("label",)
        return super().validate(attrs)


class SponsorshipFilter(django_filters.FilterSet):
    sponsor = slug_filter("sponsor__slug", "Sponsor slug.")
    label = slug_filter("label__slug", "Disclosure label slug.")
    article = slug_filter("article__slug", "Article slug.")
    topic = slug_filter("topic__slug", "Topic slug.")
    state = django_filters.ChoiceFilter(
        choices=SponsorshipState.choices,
        method="filter_state",
        help_text="Now: live (shows), upcoming, ended, or sponsor_inactive (in its window, but "
        "its sponsor is not active).",
    )

    class Meta:
        model = Sponsorship
        fields = ["sponsor", "label", "article", "topic", "state"]

    def filter_state(self, queryset, name, value):
        if value == SponsorshipState.SPONSOR_INACTIVE:
            now = timezone.now()
            in_window = queryset.exclude(starts_at__gt=now).exclude(ends_at__lte=now)
            return in_window.filter(sponsor__is_active=False)
        return getattr(queryset, value)()  # live(), upcoming() or ended()


@extend_schema_view(**staff_crud_schema("Sponsorship", StaffSponsorshipSerializer))
class StaffSponsorshipViewSet(StaffViewSet):
    """Sponsorships: a sponsor, with a label, on one article or on a topic for a window."""

    queryset = (
        Sponsorship.objects.for_display()
        .select_related("article", "topic")
        .order_by("-created_at", "-pk")
    )
    serializer_class = StaffSponsorshipSerializer
    filterset_class = SponsorshipFilter
