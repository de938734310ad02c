"""Staff API for ad-ops automation: the inventory (slots, campaigns, creatives) and reports.

Callers are staff accounts with a token (``Authorization: Token …``; the admin issues them)
and the model permissions of what they do: ``view_`` to read, ``add_``/``change_``/
``delete_`` to write (the "Ad ops" group has them all). Anonymous callers get a 401, other
accounts a 403. Every write goes through the same validation and services as the admin, so
a save here reaches the ad decision on its next request, as a save in the admin does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import django_filters
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, QuerySet
from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from cms.api.errors import ERROR_400, ERROR_401, ERROR_403, ERROR_404, error_response
from cms.api.fields import MAX_ID, SlugRelatedField, StrictCharField, StrictModelSerializer
from cms.api.filters import IdFilter
from cms.api.parsers import JSONParser, MultiPartParser
from cms.api.serializers import ImageUploadField, RenditionSerializer
from cms.images import rendition_urls
from cms.models import Topic
from sponsors import ad_ops, pacing
from sponsors.models import (
    Campaign,
    Countdown,
    Creative,
    Slot,
    Sponsor,
    State,
)
from sponsors.reports import (
    GROUP_LABELS,
    MAX_REPORT_DAYS,
    REASONS,
    ReportFilters,
    delivery_report,
    report_csv_response,
    report_range,
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


class InventorySerializer(StrictModelSerializer):
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


class PaceSerializer(serializers.Serializer):
    """A campaign's pacing against a straight line from its start to its end."""

    delivered = serializers.IntegerField(help_text="Billable impressions so far (flushed).")
    goal = serializers.IntegerField(help_text="The impression goal.")
    expected = serializers.IntegerField(
        allow_null=True, help_text="Impressions due by now on a straight line; null: no end."
    )
    percent_of_pace = serializers.FloatField(
        allow_null=True, help_text="delivered / expected x 100; null before any is due."
    )
    projected = serializers.IntegerField(
        allow_null=True, help_text="Delivery at the end at the rate so far; null: unknown."
    )
    status = serializers.ChoiceField(
        choices=list(pacing.STATUS_LABELS.items()),
        help_text="on_track within 10 % of expected, else behind or ahead; not_started, "
        "goal_reached, under_delivered (ended under goal) or no_end_date.",
    )


class CampaignSerializer(InventorySerializer):
    sponsor = SlugRelatedField(slug_field="slug", queryset=Sponsor.objects.all())
    tier = TierField(
        required=False, help_text="sponsorship > standard > house: the highest tier serves."
    )
    state = serializers.SerializerMethodField(help_text="live, scheduled, ended or paused, now.")
    # Not "pacing": that is the campaign's writable pacing mode (even or asap).
    pace = serializers.SerializerMethodField(
        help_text="Pacing against its goal, now (read-only); null without an impression goal."
    )

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
            "pace",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    @extend_schema_field(serializers.ChoiceField(choices=State.choices))
    def get_state(self, campaign: Campaign) -> str:
        return campaign.state(self.context.get("now")).value

    @extend_schema_field(PaceSerializer(allow_null=True))
    def get_pace(self, campaign: Campaign) -> dict[str, Any] | None:
        if not hasattr(campaign, "delivered"):
            # The viewset's campaigns carry it (pacing.with_delivered); one created or
            # copied just now has delivered nothing yet.
            campaign.delivered = 0  # type: ignore[attr-defined]
        pace = pacing.campaign_pacing(campaign, self.context.get("now"))
        return None if pace is None else pace.as_dict()

    def save(self, **kwargs):
        delivered = getattr(self.instance, "delivered", 0)  # what get_object() annotated
        campaign = super().save(**kwargs)
        campaign.delivered = delivered  # saving a campaign changes no counter
        return campaign


class CreativeImageSerializer(serializers.Serializer):
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    renditions = RenditionSerializer(many=True)


class CreativeSerializer(InventorySerializer):
    relations = ("slots", "include_topics", "exclude_topics")

    campaign = serializers.PrimaryKeyRelatedField(queryset=Campaign.objects.all())
    image = ImageUploadField(
        write_only=True,
        required=False,
        help_text="Image banners: the file (multipart/form-data). JPEG, PNG, WebP or GIF; it "
        "must fit every slot the creative is assigned to.",
    )
    image_info = serializers.SerializerMethodField(
        help_text="The stored image's size and renditions, or null (text strips)."
    )
    slots = SlugRelatedField(
        slug_field="key", queryset=Slot.objects.all(), many=True, required=False
    )
    include_topics = SlugRelatedField(
        slug_field="slug", queryset=Topic.objects.all(), many=True, required=False
    )
    exclude_topics = SlugRelatedField(
        slug_field="slug", queryset=Topic.objects.all(), many=True, required=False
    )
    countdown = SlugRelatedField(
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
    name = StrictCharField(max_length=160, required=False, help_text="Default: “Copy of …”.")
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
    campaign = IdFilter(field_name="campaign_id", help_text="Campaign id.")
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

    def get_queryset(self):
        # Delivered so far, for each campaign's pace: a subquery, not a query per campaign.
        return pacing.with_delivered(super().get_queryset())

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
    group_by = serializers.ChoiceField(
        choices=list(GROUP_LABELS.items()),
        default="day",
        help_text="A period (hour, day, week: ISO weeks from Monday, month), a dimension "
        "(campaign, creative, slot, sponsor), or a dimension split by a period "
        "(campaign_by_day: one row per campaign and day).",
    )
    campaign = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text="Campaign id."
    )
    creative = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text="Creative id."
    )
    slot = serializers.SlugField(required=False, help_text="Slot key.")
    sponsor = serializers.SlugField(required=False, help_text="Sponsor slug.")
    format = serializers.ChoiceField(
        choices=["json", "csv"],
        required=False,
        help_text="csv: the report as a streamed CSV download (or send Accept: text/csv).",
    )

    def validate(self, attrs):
        start, end = report_range(attrs.get("start"), attrs.get("end"))
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
    """One row: the fields naming it (those of its group_by's parts), then its counts."""

    hour = serializers.DateTimeField(required=False, help_text="By hour: its UTC start.")
    day = serializers.DateField(required=False, help_text="By day (display time zone).")
    week = serializers.DateField(required=False, help_text="By week: its Monday.")
    month = serializers.DateField(required=False, help_text="By month: its first day.")
    campaign = serializers.IntegerField(
        required=False, help_text="By campaign or creative: the campaign id."
    )
    creative = serializers.IntegerField(required=False, help_text="By creative: its id.")
    slot = serializers.CharField(required=False, help_text="By slot: the slot key.")
    slot_id = serializers.IntegerField(required=False, help_text="By slot: its id.")
    sponsor = serializers.CharField(required=False, help_text="By sponsor: its slug.")
    sponsor_id = serializers.IntegerField(required=False, help_text="By sponsor: its id.")
    name = serializers.CharField(
        required=False, help_text="By campaign, creative, slot or sponsor: its name."
    )


class DeliveryReportSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    time_zone = serializers.CharField(help_text="The zone whose midnights cut the days.")
    group_by = serializers.ChoiceField(choices=list(GROUP_LABELS.items()))
    rows = ReportRowSerializer(many=True)
    totals = CountsSerializer()


class ReportPermission(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        return _is_staff(request) and request.user.has_perm("sponsors.view_deliverycounter")


class CSVRenderer(BaseRenderer):
    """Lets ``format=csv`` (or ``Accept: text/csv``) choose the CSV answer; the view streams
    it itself, so this renders nothing but text handed to it."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, (str, bytes)) else b""


def _json_only(responses: dict[int, OpenApiResponse]) -> dict[tuple[int, str], OpenApiResponse]:
    return {(code, "application/json"): answer for code, answer in responses.items()}


CSV_COLUMNS = (
    "The fields naming the row (those of group_by, as in the JSON rows; hours in the display "
    "time zone with their offset), impressions, clicks, ctr, bot_impressions, bot_clicks, "
    "then uncounted_impressions_<reason> and uncounted_clicks_<reason> for each reason "
    f"({', '.join(REASONS)}). The last line holds the totals: its first cell is `total`."
)


REPORT_200 = (
    "The report: JSON by default; with format=csv (or Accept: text/csv) a streamed CSV "
    f"attachment (text/csv; charset=utf-8), a header line then one line per row. {CSV_COLUMNS}"
)


class DeliveryReportView(APIView):
    permission_classes = [ReportPermission]
    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(
        summary="Delivery report: impressions, clicks and CTR from the hourly counters",
        description=(
            "Counts flushed to the database (with Redis, within a flush interval of the "
            "event), grouped by hour, day (cut at the display time zone's midnight: a DST "
            "day has 23 or 25 hours), ISO week, month, campaign, creative, slot or sponsor, "
            "or a dimension by a period (`campaign_by_day`). Every event answered but not "
            "counted is reported beside, by reason. At most "
            f"{MAX_REPORT_DAYS} days per report. `format=csv` streams the same rows and "
            "totals as CSV."
        ),
        parameters=[ReportQuerySerializer],
        responses={
            # One description per status: it says what both bodies are.
            (200, "application/json"): OpenApiResponse(
                response=DeliveryReportSerializer, description=REPORT_200
            ),
            (200, "text/csv"): OpenApiResponse(response=OpenApiTypes.STR, description=REPORT_200),
            **_json_only({**ERROR_400, **ERRORS_READ}),
        },
    )
    def get(self, request):
        # A plain dict: `start=` is a blank value (400), not a field left out (DRF's
        # reading of form data).
        query = ReportQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        options = dict(query.validated_data)
        options.pop("format", None)
        filters = ReportFilters(
            **{
                key: options.pop(key)
                for key in ("campaign", "creative", "slot", "sponsor")
                if key in options
            }
        )
        if request.accepted_renderer.format == "csv":
            return report_csv_response(filters=filters, **options)
        report = delivery_report(filters=filters, **options)
        return Response(DeliveryReportSerializer(report).data)

    def perform_content_negotiation(self, request, force=False):
        try:
            return super().perform_content_negotiation(request, force)
        except Http404:  # ?format= names no renderer: a field error, not a 404
            raise exceptions.ValidationError({"format": ["Must be json or csv."]}) from None

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response) and isinstance(
            getattr(request, "accepted_renderer", None), CSVRenderer
        ):
            # Errors (and OPTIONS) answer in JSON, whatever format was asked for.
            request.accepted_renderer, request.accepted_media_type = (
                JSONRenderer(),
                JSONRenderer.media_type,
            )
        return super().finalize_response(request, response, *args, **kwargs)
