"""Staff API for ad-ops automation: the inventory (slots, campaigns, creatives) and reports.

Callers are staff accounts with a token (``Authorization: Token …``; the admin issues them)
and the model permissions of what they do: ``view_`` to read, ``add_``/``change_``/
``delete_`` to write (the "Ad ops" group has them all). Anonymous callers get a 401, other
accounts a 403. Every write goes through the same validation and services as the admin, so
a save here reaches the ad decision on its next request, as a save in the admin does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import django_filters
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, QuerySet
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from cms.api.errors import ERROR_400, ERROR_401, ERROR_403, ERROR_404, error_response
from cms.api.serializers import RenditionSerializer
from cms.images import rendition_urls
from cms.models import Topic
from sponsors import ad_ops
from sponsors.models import (
    Campaign,
    Countdown,
    Creative,
    Slot,
    Sponsor,
    State,
)
from sponsors.reports import (
    GROUPS,
    MAX_REPORT_DAYS,
    ReportFilters,
    delivery_report,
    display_zone,
)

ERRORS_READ = {**ERROR_401, **ERROR_403}
ERRORS_ONE = {**ERROR_401, **ERROR_403, **ERROR_404}
ERRORS_WRITE = {**ERROR_400, **ERROR_401, **ERROR_403}
ERROR_409 = {
    status.HTTP_409_CONFLICT: error_response(
        "It has delivery counts (impressions or clicks), which deleting it would delete: "
        "pause it instead."
    )
}


def _is_staff(request) -> bool:
    """Staff accounts only; anonymous callers are told to authenticate (401)."""
    if not (request.user and request.user.is_authenticated):
        raise exceptions.NotAuthenticated()
    return request.user.is_staff


class StaffModelPermissions(permissions.DjangoModelPermissions):
    """Staff accounts with the model permission of the verb; reading needs ``view_``."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }

    def has_permission(self, request, view) -> bool:
        if not _is_staff(request):
            return False
        if getattr(view, "action", None) in ("pause", "resume"):  # a POST that changes
            meta = view.get_queryset().model._meta
            return request.user.has_perm(f"{meta.app_label}.change_{meta.model_name}")
        return super().has_permission(request, view)


# ---------------------------------------------------------------------------------------------
# Serializers


class InventorySerializer(serializers.ModelSerializer):
    """Validates through the model (``full_clean``: field rules, constraints, ``clean()``),
    so the API accepts exactly what the admin accepts."""

    relations: tuple[str, ...] = ()

    def validate(self, attrs):
        instance = self.instance or self.Meta.model()
        if self.instance is not None:
            instance = type(instance).objects.get(pk=instance.pk)  # never touch the original
        for name, value in attrs.items():
            if name not in self.relations:
                setattr(instance, name, value)
        instance.full_clean(exclude=list(self.relations))
        self.checked = instance
        return attrs

    def save(self, **kwargs):
        try:
            with transaction.atomic():
                self.checked.save()
        except IntegrityError:  # lost a race with a concurrent write of the same key
            raise serializers.ValidationError(
                {"non_field_errors": ["This conflicts with a change made at the same time."]}
            ) from None
        self.instance = self.checked
        return self.instance


class SlotSerializer(InventorySerializer):
    house_creative = serializers.PrimaryKeyRelatedField(
        queryset=Creative.objects.all(),
        allow_null=True,
        required=False,
        help_text="Id of the creative shown when nothing else qualifies, or null.",
    )

    class Meta:
        model = Slot
        fields = [
            "id",
            "key",
            "name",
            "width",
            "height",
            "accepts_image",
            "accepts_text",
            "house_creative",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if self.instance is not None:
            ad_ops.check_slot_keeps_creatives(
                slot=self.checked, creatives=list(self.instance.creatives.all())
            )
        return attrs


class TierField(serializers.ChoiceField):
    """The priority tier by name (the database keeps its rank)."""

    def __init__(self, **kwargs):
        super().__init__(choices=[t.name.lower() for t in Campaign.Tier], **kwargs)

    def to_representation(self, value):
        return Campaign.Tier(value).name.lower()

    def to_internal_value(self, data):
        return Campaign.Tier[super().to_internal_value(data).upper()].value


class CampaignSerializer(InventorySerializer):
    sponsor = serializers.SlugRelatedField(slug_field="slug", queryset=Sponsor.objects.all())
    tier = TierField(
        required=False, help_text="sponsorship > standard > house: the highest tier serves."
    )
    state = serializers.SerializerMethodField(help_text="live, scheduled, ended or paused, now.")

    class Meta:
        model = Campaign
        fields = [
            "id",
            "sponsor",
            "name",
            "starts_at",
            "ends_at",
            "tier",
            "impression_goal",
            "pacing",
            "frequency_cap",
            "frequency_period",
            "is_active",
            "state",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    @extend_schema_field(serializers.ChoiceField(choices=State.choices))
    def get_state(self, campaign: Campaign) -> str:
        return campaign.state(self.context.get("now")).value


class CreativeImageSerializer(serializers.Serializer):
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    renditions = RenditionSerializer(many=True)


class CreativeSerializer(InventorySerializer):
    relations = ("slots", "include_topics", "exclude_topics")

    campaign = serializers.PrimaryKeyRelatedField(queryset=Campaign.objects.all())
    image = serializers.ImageField(
        write_only=True,
        required=False,
        help_text="Image banners: the file (multipart/form-data). JPEG, PNG, WebP or GIF; it "
        "must fit every slot the creative is assigned to.",
    )
    image_info = serializers.SerializerMethodField(
        help_text="The stored image's size and renditions, or null (text strips)."
    )
    slots = serializers.SlugRelatedField(
        slug_field="key", queryset=Slot.objects.all(), many=True, required=False
    )
    include_topics = serializers.SlugRelatedField(
        slug_field="slug", queryset=Topic.objects.all(), many=True, required=False
    )
    exclude_topics = serializers.SlugRelatedField(
        slug_field="slug", queryset=Topic.objects.all(), many=True, required=False
    )
    countdown = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Countdown.objects.all(),
        allow_null=True,
        required=False,
        help_text="Text strips: the slug of the countdown shown with the promo, or null.",
    )
    state = serializers.SerializerMethodField(help_text="live, scheduled, ended or paused, now.")

    class Meta:
        model = Creative
        fields = [
            "id",
            "campaign",
            "name",
            "kind",
            "image",
            "image_info",
            "alt_text",
            "headline",
            "body",
            "cta_label",
            "click_url",
            "weight",
            "slots",
            "include_topics",
            "exclude_topics",
            "countdown",
            "when_countdown_closes",
            "is_active",
            "state",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    @extend_schema_field(CreativeImageSerializer(allow_null=True))
    def get_image_info(self, creative: Creative) -> dict | None:
        if not creative.image_renditions:
            return None
        return {
            "width": creative.image_width,
            "height": creative.image_height,
            "renditions": rendition_urls(creative.image_renditions, self.context.get("request")),
        }

    @extend_schema_field(serializers.ChoiceField(choices=State.choices))
    def get_state(self, creative: Creative) -> str:
        return creative.state(self.context.get("now")).value

    def save(self, **kwargs):
        data = self.validated_data
        slots = data.get("slots")
        if slots is None and self.instance is not None:
            slots = list(self.instance.slots.all())  # a new image or kind must still fit them
        creative = ad_ops.creative_save(
            creative=self.checked,
            slots=slots,
            include_topics=data.get("include_topics"),
            exclude_topics=data.get("exclude_topics"),
        )
        self.instance = Creative.objects.for_listing().get(pk=creative.pk)
        return self.instance


class DuplicateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=160, required=False, help_text="Default: “Copy of …”.")
    starts_at = serializers.DateTimeField(
        required=False, help_text="Shift the copy's dates to start here (default: same dates)."
    )


# ---------------------------------------------------------------------------------------------
# Filters


class StateFilterMixin(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(
        choices=State.choices, method="filter_state", help_text="By state, now."
    )

    def filter_state(self, queryset, name, value):
        return getattr(queryset, value)()  # live(), scheduled(), ended() or paused()


class CampaignFilter(StateFilterMixin):
    sponsor = django_filters.CharFilter(field_name="sponsor__slug", help_text="Sponsor slug.")

    class Meta:
        model = Campaign
        fields = ["sponsor", "state"]


class CreativeFilter(StateFilterMixin):
    campaign = django_filters.NumberFilter(field_name="campaign_id", help_text="Campaign id.")
    slot = django_filters.CharFilter(field_name="slots__key", help_text="Slot key.")
    kind = django_filters.ChoiceFilter(choices=Creative.Kind.choices)

    class Meta:
        model = Creative
        fields = ["campaign", "slot", "kind", "state"]


# ---------------------------------------------------------------------------------------------
# Views


class StaffViewSet(viewsets.ModelViewSet):
    permission_classes = [StaffModelPermissions]
    parser_classes = [JSONParser]
    http_method_names = ["get", "post", "put", "patch", "delete", "head"]

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    @transaction.atomic  # nothing stays deleted unless the decision's cache heard of it
    def perform_destroy(self, instance):
        try:
            instance.delete()
        except ProtectedError:  # delivery counts (DeliveryCounter protects them)
            raise HasHistoryError() from None


class HasHistoryError(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "has_delivery_history"
    default_detail = (
        "This has delivered impressions or clicks; deleting it would delete its delivery "
        "counts. Pause it instead."
    )


def _crud_schema(noun: str, serializer, *, filters: bool = False) -> dict:
    return {
        "list": extend_schema(
            summary=f"{noun}s", responses={200: serializer(many=True), **ERROR_400, **ERRORS_READ}
        ),
        "retrieve": extend_schema(
            summary=f"One {noun.lower()}", responses={200: serializer, **ERRORS_ONE}
        ),
        "create": extend_schema(
            summary=f"Create a {noun.lower()}", responses={201: serializer, **ERRORS_WRITE}
        ),
        "update": extend_schema(
            summary=f"Replace a {noun.lower()}",
            responses={200: serializer, **ERRORS_WRITE, **ERROR_404},
        ),
        "partial_update": extend_schema(
            summary=f"Change some fields of a {noun.lower()}",
            responses={200: serializer, **ERRORS_WRITE, **ERROR_404},
        ),
        "destroy": extend_schema(
            summary=f"Delete a {noun.lower()}",
            responses={204: OpenApiResponse(description="Deleted."), **ERRORS_ONE, **ERROR_409},
        ),
    }


@extend_schema_view(**_crud_schema("Slot", SlotSerializer))
class SlotViewSet(StaffViewSet):
    queryset = Slot.objects.all()
    serializer_class = SlotSerializer


class ActiveSwitchMixin:
    """``POST …/{id}/pause/`` and ``…/resume/`` through the ad-ops services."""

    # Given by the viewset it is mixed into.
    get_object: Callable[[], Any]
    get_queryset: Callable[[], QuerySet[Any]]
    get_serializer: Callable[..., serializers.BaseSerializer[Any]]

    def _switch(self, request, active: bool):
        obj = self.get_object()
        ad_ops.inventory_set_active(rows=self.get_queryset().filter(pk=obj.pk), active=active)
        obj.refresh_from_db()
        return Response(self.get_serializer(obj).data)

    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        return self._switch(request, False)

    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._switch(request, True)


def _switch_schema(noun: str, serializer) -> dict:
    return {
        "pause": extend_schema(
            summary=f"Pause a {noun} (it stops serving on the next request)",
            request=None,
            responses={200: serializer, **ERRORS_ONE},
        ),
        "resume": extend_schema(
            summary=f"Resume a paused {noun}",
            request=None,
            responses={200: serializer, **ERRORS_ONE},
        ),
    }


@extend_schema_view(
    **_crud_schema("Campaign", CampaignSerializer),
    **_switch_schema("campaign", CampaignSerializer),
    duplicate=extend_schema(
        summary="Copy a campaign with its creatives; the copy starts paused",
        request=DuplicateSerializer,
        responses={201: CampaignSerializer, **ERRORS_WRITE, **ERROR_404},
    ),
)
class CampaignViewSet(ActiveSwitchMixin, StaffViewSet):
    queryset = Campaign.objects.for_listing().order_by("-starts_at", "-pk")
    serializer_class = CampaignSerializer
    filterset_class = CampaignFilter

    @action(detail=True, methods=["post"])
    def duplicate(self, request, pk=None):
        campaign = self.get_object()
        options = DuplicateSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        copy = ad_ops.campaign_duplicate(campaign=campaign, **options.validated_data)
        return Response(self.get_serializer(copy).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    **_crud_schema("Creative", CreativeSerializer), **_switch_schema("creative", CreativeSerializer)
)
class CreativeViewSet(ActiveSwitchMixin, StaffViewSet):
    queryset = Creative.objects.for_listing()
    serializer_class = CreativeSerializer
    filterset_class = CreativeFilter
    parser_classes = [JSONParser, MultiPartParser]


# ---------------------------------------------------------------------------------------------
# Reports


class ReportQuerySerializer(serializers.Serializer):
    start = serializers.DateField(
        required=False, help_text="First day, in the display time zone (default: 29 days ago)."
    )
    end = serializers.DateField(
        required=False, help_text="Last day, in the display time zone (default: today)."
    )
    group_by = serializers.ChoiceField(choices=list(GROUPS), default="day")
    campaign = serializers.IntegerField(required=False, min_value=1)
    creative = serializers.IntegerField(required=False, min_value=1)
    slot = serializers.SlugField(required=False, help_text="Slot key.")
    sponsor = serializers.SlugField(required=False, help_text="Sponsor slug.")

    def validate(self, attrs):
        end = attrs.get("end") or timezone.localdate(timezone.now(), display_zone())
        start = attrs.get("start") or end - dt.timedelta(days=29)
        if start > end:
            raise serializers.ValidationError({"start": ["Must not be after end."]})
        if (end - start).days + 1 > MAX_REPORT_DAYS:
            raise serializers.ValidationError(
                {"start": [f"A report covers at most {MAX_REPORT_DAYS} days."]}
            )
        return {**attrs, "start": start, "end": end}


class ReasonCountsSerializer(serializers.Serializer):
    """Events answered but not counted (never billed), by reason."""

    replayed = serializers.IntegerField(help_text="Already counted (a replay).")
    expired = serializers.IntegerField(help_text="Token expired.")
    invalid = serializers.IntegerField(help_text="Token invalid or tampered (names nothing).")
    bot = serializers.IntegerField(help_text="Bots and crawlers.")
    non_browser = serializers.IntegerField(help_text="Non-browser clients (server libraries).")
    preview = serializers.IntegerField(help_text="Preview or forced decision.")
    unknown = serializers.IntegerField(help_text="Creative or slot deleted since served.")


class UncountedSerializer(serializers.Serializer):
    impressions = ReasonCountsSerializer()
    clicks = ReasonCountsSerializer()


class CountsSerializer(serializers.Serializer):
    impressions = serializers.IntegerField(help_text="Billable impressions.")
    clicks = serializers.IntegerField(help_text="Billable clicks.")
    ctr = serializers.FloatField(help_text="clicks / impressions (0 when none).")
    bot_impressions = serializers.IntegerField(
        help_text="Bots and crawlers: never billed (also in uncounted)."
    )
    bot_clicks = serializers.IntegerField()
    uncounted = UncountedSerializer(help_text="Everything answered but not counted, by reason.")


class ReportRowSerializer(CountsSerializer):
    hour = serializers.DateTimeField(required=False, help_text="group_by=hour: its UTC start.")
    day = serializers.DateField(required=False, help_text="group_by=day (display time zone).")
    campaign = serializers.IntegerField(
        required=False, help_text="group_by=campaign or creative: the campaign id."
    )
    creative = serializers.IntegerField(required=False, help_text="group_by=creative.")
    name = serializers.CharField(
        required=False, help_text="group_by=campaign or creative: its name."
    )
    slot = serializers.CharField(required=False, help_text="group_by=slot: the slot key.")


class DeliveryReportSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    time_zone = serializers.CharField(help_text="The zone whose midnights cut the days.")
    group_by = serializers.ChoiceField(choices=list(GROUPS))
    rows = ReportRowSerializer(many=True)
    totals = CountsSerializer()


class ReportPermission(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        return _is_staff(request) and request.user.has_perm("sponsors.view_deliverycounter")


class DeliveryReportView(APIView):
    permission_classes = [ReportPermission]

    @extend_schema(
        summary="Delivery report: impressions, clicks and CTR from the hourly counters",
        description=(
            "Counts flushed to the database (with Redis, within a flush interval of the "
            "event), grouped by hour, day (cut at the display time zone's midnight), "
            "campaign, creative or slot. Every event answered but not counted is reported "
            f"beside, by reason. At most {MAX_REPORT_DAYS} days per report."
        ),
        parameters=[ReportQuerySerializer],
        responses={200: DeliveryReportSerializer, **ERROR_400, **ERRORS_READ},
    )
    def get(self, request):
        query = ReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        options = dict(query.validated_data)
        filters = ReportFilters(
            **{
                key: options.pop(key)
                for key in ("campaign", "creative", "slot", "sponsor")
                if key in options
            }
        )
        report = delivery_report(filters=filters, **options)
        return Response(DeliveryReportSerializer(report).data)
