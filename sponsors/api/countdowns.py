"""Countdown API: one countdown by slug, with the server's clock for client-side correction.

``CountdownSerializer`` renders a ``CountdownState`` (never a model), so the ad decision can
embed the very same object from its cached inventory: ``CountdownSerializer(state).data``.
"""

from __future__ import annotations

import datetime as dt

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from cms.api.errors import ERROR_404
from sponsors.countdowns import (
    countdown_max_age,
    countdown_snapshot_for_slug,
    countdown_state,
)
from sponsors.models import Countdown


class ZonedDateTimeField(serializers.DateTimeField):
    """ISO 8601 with the offset of the zone the value already carries (the countdown's)."""

    def enforce_timezone(self, value):
        return value

    def to_representation(self, value):
        if value is None:
            return None
        return value.isoformat(timespec="seconds")


class UTCTimeField(serializers.DateTimeField):
    """ISO 8601 in UTC to the millisecond ("2025-11-30T23:59:58.250Z")."""

    def to_representation(self, value):
        return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class CountdownPhaseSerializer(serializers.Serializer):
    label = serializers.CharField(help_text="As shown: “Extended deadline” once extended.")
    deadline = ZonedDateTimeField(help_text="ISO 8601 with the offset of the countdown's zone.")
    original_deadline = ZonedDateTimeField(help_text="The deadline before any extension.")
    extended = serializers.BooleanField()
    passed = serializers.BooleanField(help_text="The deadline is at or before `server_time`.")
    current = serializers.BooleanField(help_text="This is the phase the countdown shows.")


class ClosedLinkSerializer(serializers.Serializer):
    url = serializers.URLField()
    label = serializers.CharField()


class CountdownSerializer(serializers.Serializer):
    """A countdown at `server_time`; the same object is embedded in creatives that carry one."""

    slug = serializers.SlugField()
    title = serializers.CharField()
    time_zone = serializers.CharField(help_text="IANA zone the deadlines are shown in.")
    state = serializers.ChoiceField(
        choices=["open", "closed"], help_text="`closed` once the last deadline has passed."
    )
    label = serializers.CharField(
        allow_null=True, help_text="Label of the current phase; null when closed."
    )
    deadline = ZonedDateTimeField(
        allow_null=True,
        help_text="End of the current phase (ISO 8601 with offset); null when closed.",
    )
    original_deadline = ZonedDateTimeField(
        allow_null=True,
        help_text="The current phase's deadline before any extension; null when closed.",
    )
    extended = serializers.BooleanField(help_text="The current phase's deadline was extended.")
    seconds_remaining = serializers.IntegerField(
        help_text="Whole seconds until `deadline`, rounded up; 0 when closed."
    )
    server_time = UTCTimeField(
        help_text="The server's clock when it answered: clients correct their own clock with it."
    )
    closes_at = ZonedDateTimeField(
        allow_null=True, help_text="The last deadline: when the countdown closes."
    )
    closed_message = serializers.CharField(help_text="Shown once closed.")
    closed_link = ClosedLinkSerializer(
        allow_null=True, help_text="Optional link shown when closed."
    )
    phases = CountdownPhaseSerializer(many=True, help_text="All phases, in order.")


@extend_schema(
    summary="One countdown: its current phase, deadline, and the server's time",
    description=(
        "Cacheable, but never past the current phase's end: `Cache-Control: public, max-age=N` "
        "with N at most the whole seconds left (and at most 60); `no-store` in the last second; "
        "closed countdowns 300 s."
    ),
    responses={200: CountdownSerializer, **ERROR_404},
)
class CountdownViewSet(viewsets.GenericViewSet):
    # Only describes the slug for the schema: reads go through the cached snapshot.
    queryset = Countdown.objects.all()
    lookup_field = "slug"
    # Public and anonymous: no session or token to look at.
    authentication_classes = []
    permission_classes = [AllowAny]
    serializer_class = CountdownSerializer
    pagination_class = None
    filterset_class = None

    def retrieve(self, request, slug=None):
        snapshot = countdown_snapshot_for_slug(slug)
        if snapshot is None:
            raise Http404
        state = countdown_state(snapshot, now=timezone.now())
        response = Response(CountdownSerializer(state).data)
        max_age = countdown_max_age(state)
        # Set here, not with PublicCacheMixin: the age depends on the deadline.
        response["Cache-Control"] = f"public, max-age={max_age}" if max_age else "no-store"
        return response
