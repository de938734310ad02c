"""Staff API for ad-ops: countdowns with their deadline phases, extensions and their history.

The callers, permissions and error format of ``sponsors.api.ad_ops``. The rules are the
admin's, from the same services (``sponsors.countdowns``): deadlines are read in the
countdown's zone (a time that does not exist is refused, one that happens twice needs its
``occurrence``), phases never share a deadline, and a saved deadline moves only by an
extension, which keeps its history (who, when, old and new time, reason) for good.

Phases come in the countdown's body, as a list in time order. Writing them needs, besides
the countdown's own permission, the phase permissions of what changes (``add_``, ``change_``,
``delete_deadlinephase``), as in the admin's phase rows. Extending needs ``change_countdown``
and ``add_deadlineextension``; ``view_countdown`` reads the history.
"""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Prefetch
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from cms.api.errors import ERROR_400
from cms.api.fields import StrictCharField
from sponsors.api.ad_ops import (
    ERRORS_ONE,
    ERRORS_WRITE,
    InventorySerializer,
    StaffModelPermissions,
    StaffViewSet,
)
from sponsors.api.ad_ops_profiles import (
    BlankableURLField,
    ProtectedDeleteMixin,
    SearchFilterSet,
    search_filter,
    staff_crud_schema,
    text_filter,
)
from sponsors.api.countdowns import ZonedDateTimeField
from sponsors.countdowns import (
    PhaseInput,
    countdown_extend,
    countdown_save,
    countdown_snapshot,
    countdown_state,
    deadline_in_zone,
)
from sponsors.models import Countdown, DeadlineExtension, DeadlinePhase

MAX_PHASES = 20
REASON_MAX_LENGTH = 2000
OCCURRENCES = [
    ("first", "first: before the clocks go back (summer time)"),
    ("second", "second: after the clocks go back (standard time)"),
]


class WallClockField(ZonedDateTimeField):
    """ISO 8601 in; without an offset it is a wall-clock time in the countdown's zone."""


def _zoned(moment, zone) -> str:
    return moment.astimezone(zone).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------------------------
# Serializers


class PhaseListSerializer(serializers.ListSerializer):
    """Errors of the list as a whole ("at least 1") under ``phases`` itself."""

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as error:
            detail = error.detail
            if isinstance(detail, dict) and list(detail) == ["non_field_errors"]:
                raise serializers.ValidationError(detail["non_field_errors"]) from None
            raise


class StaffPhaseSerializer(serializers.Serializer):
    id = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="An existing phase of this countdown; leave out for a new phase.",
    )
    label = StrictCharField(  # type: ignore[assignment]  # a field: DRF takes it out of the class
        max_length=80,
        required=False,
        help_text="For example “Early bird”, “Deadline”. Needed for a new phase.",
    )
    extended_label = StrictCharField(
        max_length=80,
        required=False,
        allow_blank=True,
        help_text="Shown instead of the label once extended; blank: “Extended <label>”.",
    )
    deadline = WallClockField(
        required=False,
        help_text="When the phase ends, to the second. Without an offset it is read in the "
        "countdown's zone, as the admin reads it. Needed for a new phase; fixed once saved "
        "(send it unchanged, or leave it out): the extend action moves it.",
    )
    occurrence = serializers.ChoiceField(
        choices=OCCURRENCES,
        required=False,
        allow_blank=True,
        write_only=True,
        help_text="Only for a deadline without an offset that happens twice (the clocks go "
        "back that night): which of the two.",
    )
    display_label = serializers.CharField(
        read_only=True, help_text="As shown: “Extended deadline” once extended."
    )
    original_deadline = ZonedDateTimeField(
        read_only=True, help_text="The deadline as first set, before any extension."
    )
    extended = serializers.BooleanField(
        read_only=True, help_text="Its deadline is later than first set."
    )
    passed = serializers.BooleanField(read_only=True, help_text="Its deadline has passed, now.")

    class Meta:
        list_serializer_class = PhaseListSerializer

    def to_representation(self, phase: DeadlinePhase) -> dict:
        zone = phase.countdown.zone  # the countdown the phases were prefetched from
        now = self.context.get("now") or timezone.now()
        return {
            "id": phase.pk,
            "label": phase.label,
            "extended_label": phase.extended_label,
            "deadline": _zoned(phase.deadline, zone),
            "display_label": phase.display_label,
            "original_deadline": _zoned(phase.original_deadline, zone),
            "extended": phase.extended,
            "passed": phase.deadline <= now,
        }


class StaffCountdownSerializer(InventorySerializer):
    relations = ("phases",)  # saved by the countdown service, not set on the model

    phases = StaffPhaseSerializer(  # type: ignore[call-arg]  # min/max_length: ListSerializer's (many=True)
        many=True,
        min_length=1,
        max_length=MAX_PHASES,
        help_text="Every phase, in time order. On a change, the list is the countdown's "
        "phases from then on: listed ones (by id) are kept, new ones added, the others "
        "removed (not those with extension history).",
    )
    state = serializers.SerializerMethodField(
        help_text="Now: open while a deadline is ahead, then closed."
    )
    closed_link_url = BlankableURLField(
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="Optional link shown with the closed message (http or https).",
    )

    class Meta:
        model = Countdown
        fields = [
            "id",
            "slug",
            "title",
            "time_zone",
            "closed_message",
            "closed_link_url",
            "closed_link_label",
            "state",
            "phases",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {
            "slug": {"help_text": "Made from the title when left out; the public API's address."},
            "time_zone": {
                "help_text": "IANA zone (Europe/London) deadlines are read and shown in; "
                "changing it keeps every deadline at the same instant."
            },
        }

    @extend_schema_field(serializers.ChoiceField(choices=["open", "closed"]))
    def get_state(self, countdown: Countdown) -> str:
        now = self.context.get("now") or timezone.now()
        return countdown_state(countdown_snapshot(countdown), now=now).state

    def save(self, **kwargs):
        items = self.validated_data.get("phases")
        phases = None
        if items is not None:
            phases = [
                PhaseInput(
                    id=item.get("id"),
                    label=item.get("label"),
                    extended_label=item.get("extended_label"),
                    deadline=item.get("deadline"),
                    occurrence=item.get("occurrence") or None,
                )
                for item in items
            ]
        try:
            with transaction.atomic():
                countdown = countdown_save(countdown=self.checked, phases=phases)
        except IntegrityError:  # lost a race with a concurrent write of the same key
            raise serializers.ValidationError(
                {"non_field_errors": ["This conflicts with a change made at the same time."]}
            ) from None
        self.instance = with_phases(Countdown.objects.all()).get(pk=countdown.pk)
        return self.instance


class ExtendDeadlineSerializer(serializers.Serializer):
    phase = serializers.PrimaryKeyRelatedField(
        queryset=DeadlinePhase.objects.none(), help_text="Id of the phase whose deadline moves."
    )
    new_deadline = WallClockField(
        help_text="The new deadline: ahead of now, after the previous phase's and before the "
        "next one's. Without an offset it is read in the countdown's zone."
    )
    occurrence = serializers.ChoiceField(
        choices=OCCURRENCES,
        required=False,
        allow_blank=True,
        help_text="Only for a time that happens twice (the clocks go back that night).",
    )
    reason = StrictCharField(
        max_length=REASON_MAX_LENGTH,
        help_text="Why it moves; kept in the history with your name and the time.",
    )
    extended_label = StrictCharField(
        max_length=80,
        required=False,
        allow_blank=True,
        help_text="Optional label to show once extended; blank keeps the phase's setting.",
    )

    def __init__(self, *args, countdown: Countdown | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.countdown = countdown  # None only when the schema generator looks at the fields
        if countdown is not None:
            self.fields["phase"].queryset = countdown.phases.all()  # type: ignore[attr-defined]  # a related field

    def validate(self, attrs):
        assert self.countdown is not None
        try:
            new_deadline = deadline_in_zone(
                attrs["new_deadline"],
                zone=self.countdown.zone,
                occurrence=attrs.get("occurrence") or None,
                field="new_deadline",
            )
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from None
        return {**attrs, "new_deadline": new_deadline}


class DeadlineExtensionSerializer(serializers.ModelSerializer):
    """One move of a deadline: history, kept for good."""

    phase: serializers.PrimaryKeyRelatedField[DeadlinePhase] = serializers.PrimaryKeyRelatedField(
        read_only=True, help_text="The phase's id."
    )
    old_deadline = serializers.SerializerMethodField()
    new_deadline = serializers.SerializerMethodField()
    changed_by = serializers.CharField(
        source="changed_by_name", read_only=True, help_text="Username of who moved it."
    )
    changed_at = serializers.SerializerMethodField()

    class Meta:
        model = DeadlineExtension
        fields = [
            "id",
            "phase",
            "phase_label",
            "old_deadline",
            "new_deadline",
            "reason",
            "changed_by",
            "changed_at",
        ]
        read_only_fields = fields

    def _zoned(self, moment) -> str:
        return _zoned(moment, self.context["zone"])

    @extend_schema_field(ZonedDateTimeField(help_text="In the countdown's zone."))
    def get_old_deadline(self, row: DeadlineExtension) -> str:
        return self._zoned(row.old_deadline)

    @extend_schema_field(ZonedDateTimeField(help_text="In the countdown's zone."))
    def get_new_deadline(self, row: DeadlineExtension) -> str:
        return self._zoned(row.new_deadline)

    @extend_schema_field(ZonedDateTimeField(help_text="When it was moved, in the zone."))
    def get_changed_at(self, row: DeadlineExtension) -> str:
        return self._zoned(row.created_at)


# ---------------------------------------------------------------------------------------------
# Filters


class CountdownFilter(SearchFilterSet):
    search_fields = ("title", "slug")
    state = django_filters.ChoiceFilter(
        choices=[("open", "open"), ("closed", "closed")],
        method="filter_state",
        help_text="Now: open (a deadline ahead) or closed.",
    )
    time_zone = text_filter(max_length=64, help_text="IANA zone name (Europe/London).")
    search = search_filter("Words in the title or slug.")

    class Meta:
        model = Countdown
        fields = ["state", "time_zone", "search"]

    def filter_state(self, queryset, name, value):
        ahead = Exists(
            DeadlinePhase.objects.filter(countdown=OuterRef("pk"), deadline__gt=timezone.now())
        )
        return queryset.filter(ahead) if value == "open" else queryset.exclude(ahead)


# ---------------------------------------------------------------------------------------------
# Views


def with_phases(countdowns):
    return countdowns.prefetch_related(
        Prefetch("phases", queryset=DeadlinePhase.objects.order_by("deadline", "pk"))
    )


class CountdownPermissions(StaffModelPermissions):
    """The model permissions, and for extending those of the admin's Extend page."""

    def has_permission(self, request, view) -> bool:
        if getattr(view, "action", None) == "extend":
            return _is_staff_with(
                request, "sponsors.change_countdown", "sponsors.add_deadlineextension"
            )
        return super().has_permission(request, view)


def _is_staff_with(request, *perms: str) -> bool:
    user = request.user
    if not (user and user.is_authenticated):
        raise exceptions.NotAuthenticated()
    return bool(user.is_staff and user.has_perms(perms))


COUNTDOWN_IN_USE = (
    "It has extension history (kept for good) or creatives that show it, so it cannot be "
    "deleted: the answer names them."
)


@extend_schema_view(
    **staff_crud_schema("Countdown", StaffCountdownSerializer, conflict=COUNTDOWN_IN_USE),
    extend=extend_schema(
        summary="Extend a deadline (or move it back), keeping the history",
        description="The rules of the admin's Extend page: the new time is ahead of now, "
        "differs from the current deadline, and stays after the previous phase's deadline and "
        "before the next one's (phases never swap: extend that one first). A passed phase may "
        "be reopened. Answers the history row it added.",
        request=ExtendDeadlineSerializer,
        responses={201: DeadlineExtensionSerializer, **ERRORS_WRITE, **ERRORS_ONE},
    ),
    extensions=extend_schema(
        summary="A countdown's extension history, newest first",
        filters=False,
        responses={200: DeadlineExtensionSerializer(many=True), **ERROR_400, **ERRORS_ONE},
    ),
)
class StaffCountdownViewSet(ProtectedDeleteMixin, StaffViewSet):
    """Countdowns with their phases; ``extend/`` moves a deadline, ``extensions/`` lists it."""

    queryset = with_phases(Countdown.objects.order_by("title", "pk"))
    serializer_class = StaffCountdownSerializer
    filterset_class = CountdownFilter
    permission_classes = [CountdownPermissions]
    in_use_advice = (
        "extension history is kept for good, and creatives that show it need another "
        "countdown (or none) first. A countdown past its last deadline simply stays closed."
    )

    def get_queryset(self):
        if self.action in ("extend", "extensions"):
            return Countdown.objects.all()  # the phases are read by the service
        return super().get_queryset()

    def _check_phase_permissions(self, serializer, countdown: Countdown | None) -> None:
        """The admin's phase rows need the phase permissions of what they change: so here."""
        items = serializer.validated_data.get("phases")
        if items is None:
            return
        stored = {p.pk: p for p in countdown.phases.all()} if countdown else {}
        needed = set()
        if any("id" not in item for item in items):
            needed.add("sponsors.add_deadlinephase")
        listed = {item.get("id") for item in items}
        if set(stored) - listed:
            needed.add("sponsors.delete_deadlinephase")
        for item in items:
            phase = stored.get(item.get("id"))
            if phase is not None and any(
                name in item and item[name] != getattr(phase, name)
                for name in ("label", "extended_label")
            ):
                needed.add("sponsors.change_deadlinephase")
        if not self.request.user.has_perms(sorted(needed)):
            raise exceptions.PermissionDenied(
                "Changing the phases needs the phase permissions: "
                + ", ".join(sorted(p.split(".")[1] for p in needed))
                + "."
            )

    def perform_create(self, serializer):
        self._check_phase_permissions(serializer, None)
        serializer.save()

    def perform_update(self, serializer):
        self._check_phase_permissions(serializer, serializer.instance)
        serializer.save()

    @action(detail=True, methods=["post"])
    def extend(self, request, pk=None):
        countdown = self.get_object()
        form = ExtendDeadlineSerializer(data=request.data, countdown=countdown)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        extension = countdown_extend(
            phase=data["phase"],
            new_deadline=data["new_deadline"],
            reason=data["reason"],
            by=request.user,
            extended_label=data.get("extended_label") or None,
        )
        body = DeadlineExtensionSerializer(extension, context={"zone": countdown.zone}).data
        return Response(body, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["get"])
    def extensions(self, request, pk=None):
        countdown = self.get_object()
        page = self.paginate_queryset(countdown.extensions.order_by("-created_at", "-pk"))
        rows = DeadlineExtensionSerializer(page, many=True, context={"zone": countdown.zone}).data
        return self.get_paginated_response(rows)
