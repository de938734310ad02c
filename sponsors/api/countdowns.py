"""Countdown API: one countdown by slug, with the server's clock for client-side correction.

``CountdownSerializer`` renders a ``CountdownState`` (never a model), so the ad decision can
embed the very same object from its cached inventory: ``countdown_payload(state)`` (fast: a
plain dict, ~20x quicker than DRF's field-by-field rendering, which a test keeps identical), or
``CountdownSerializer`` as a nested field, which declares the shape for the OpenAPI schema.
"""

from __future__ import annotations

import datetime as dt
import math

from django.http import Http404
from django.urls.converters import SlugConverter
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from cms.api.errors import ERROR_404
from cms.api.payloads import CachedPayloadMixin, hole, mark, register_hole, wants_holes
from sponsors import versions
from sponsors.countdowns import (
    CLOSED_MAX_AGE,
    OPEN_MAX_AGE,
    CountdownState,
    countdown_max_age,
    countdown_snapshot_for_slug,
    countdown_state,
)
from sponsors.models import Countdown


def _zoned(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds")


def _utc_ms(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def countdown_payload(state: CountdownState) -> dict:
    """The API object for ``state``: what ``CountdownSerializer`` declares, built directly."""
    link = state.closed_link
    return {
        "slug": state.slug,
        "title": state.title,
        "time_zone": state.time_zone,
        "state": state.state,
        "label": state.label,
        "deadline": _zoned(state.deadline),
        "original_deadline": _zoned(state.original_deadline),
        "extended": state.extended,
        "seconds_remaining": state.seconds_remaining,
        "server_time": _utc_ms(state.server_time),
        "closes_at": _zoned(state.closes_at),
        "closed_message": state.closed_message,
        "closed_link": None if link is None else {"url": link.url, "label": link.label},
        "phases": [
            {
                "label": phase.label,
                "deadline": _zoned(phase.deadline),
                "original_deadline": _zoned(phase.original_deadline),
                "extended": phase.extended,
                "passed": phase.passed,
                "current": phase.current,
            }
            for phase in state.phases
        ],
    }


def _server_time(request: object, argument: str, now: float) -> str:
    return _utc_ms(dt.datetime.fromtimestamp(now, dt.UTC))


def _seconds_until(request: object, argument: str, now: float) -> int:
    # As countdown_state(): whole seconds to the deadline, rounded up.
    return math.ceil(float(argument) - now)


register_hole("server_time", _server_time)
register_hole("seconds_until", _seconds_until)


class ZonedDateTimeField(serializers.DateTimeField):
    """ISO 8601 with the offset of the zone the value already carries (the countdown's)."""

    def enforce_timezone(self, value):
        return value

    def to_representation(self, value):
        return _zoned(value)


class UTCTimeField(serializers.DateTimeField):
    """ISO 8601 in UTC to the millisecond ("2025-11-30T23:59:58.250Z")."""

    def to_representation(self, value):
        return _utc_ms(value)


class CountdownPhaseSerializer(serializers.Serializer):
    label = serializers.CharField(help_text="As shown: “Extended deadline” once extended.")  # type: ignore[assignment]  # a field: DRF takes it out of the class
    deadline = ZonedDateTimeField(help_text="ISO 8601 with the offset of the countdown's zone.")
    original_deadline = ZonedDateTimeField(help_text="The deadline before any extension.")
    extended = serializers.BooleanField()
    passed = serializers.BooleanField(help_text="The deadline is at or before `server_time`.")
    current = serializers.BooleanField(help_text="This is the phase the countdown shows.")


class ClosedLinkSerializer(serializers.Serializer):
    url = serializers.URLField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field: DRF takes it out of the class


class CountdownSerializer(serializers.Serializer):
    """A countdown at `server_time`; the same object is embedded in creatives that carry one."""

    slug = serializers.SlugField()
    title = serializers.CharField()
    time_zone = serializers.CharField(help_text="IANA zone the deadlines are shown in.")
    state = serializers.ChoiceField(
        choices=["open", "closed"], help_text="`closed` once the last deadline has passed."
    )
    label = serializers.CharField(  # type: ignore[assignment]  # a field: DRF takes it out of the class
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

    def to_representation(self, instance: CountdownState) -> dict:
        return countdown_payload(instance)

    def field_by_field(self, instance: CountdownState) -> dict:
        """DRF's own rendering from the declared fields (tests compare it to the fast path)."""
        return super().to_representation(instance)


@extend_schema(
    summary="One countdown: its current phase, deadline, and the server's time",
    description=(
        "Cacheable, but never past the current phase's end: `Cache-Control: public, max-age=N` "
        "with N at most the whole seconds left (and at most 60); `no-store` in the last second; "
        "closed countdowns 300 s."
    ),
    responses={200: CountdownSerializer, **ERROR_404},
)
class CountdownViewSet(CachedPayloadMixin, viewsets.GenericViewSet):
    # Only describes the slug for the schema: reads go through the cached snapshot.
    queryset = Countdown.objects.all()
    lookup_field = "slug"
    # Slugs as Django's path converter reads them: anything else (a NUL byte too) is the
    # API's 404 before any query.
    lookup_value_regex = SlugConverter.regex
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
        data = countdown_payload(state)
        if wants_holes(request):  # a stored payload: each answer tells its own time
            data["server_time"] = hole("server_time")
            if state.deadline is not None:
                data["seconds_remaining"] = hole("seconds_until", state.deadline.timestamp())
        response = Response(data)
        max_age = countdown_max_age(state)
        # Set here, not with PublicCacheMixin: the age depends on the deadline.
        response["Cache-Control"] = f"public, max-age={max_age}" if max_age else "no-store"
        return mark(
            response,
            keys={versions.surrogate("countdown", snapshot.slug)},
            expires=state.deadline,
            max_age=OPEN_MAX_AGE if state.is_open else CLOSED_MAX_AGE,
        )
