"""Partner submissions API (token auth): a partner sends content and follows its review.

A partner sees and changes only the submissions it sent (any other is a 404); anonymous
callers get a 401, other accounts (editors included: they moderate in the admin) a 403.
"""

from __future__ import annotations

import json

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle

from cms.api.authentication import ThrottledTokenAuthentication
from cms.api.errors import ERROR_400, ERROR_401, ERROR_403, ERROR_404, error_response
from cms.api.fields import SlugRelatedField
from cms.api.parsers import JSONParser, MultiPartParser
from cms.api.serializers import ImageSerializer, ImageUploadField, absolute, image_data
from cms.models import Submission, Topic
from cms.submissions import (
    ATTRIBUTION_MAX,
    BLOCK_TYPES,
    MAX_BLOCK_CHARS,
    MAX_LIST_ITEMS,
    MAX_TOPICS,
    SubmissionDecidedError,
    SubmissionRateLimitedError,
    own_submissions,
    submission_create,
    submission_rate,
    submission_update,
    submission_wait,
    submission_withdraw,
)
from sponsors.models import Sponsor
from sponsors.sponsorships import partner_can_submit, partner_for

# What the publisher sets; a partner sending any of these gets a 400 naming them.
PUBLISHER_FIELDS = {
    "id",
    "url",
    "status",
    "sponsor",
    "submitted_by",
    "reviewer",
    "decided_by",
    "decided_at",
    "rejection_reason",
    "article",
    "word_count",
    "views",
    "counts",
    "created_at",
    "updated_at",
    "hero",
}

ERROR_409 = {
    status.HTTP_409_CONFLICT: error_response(
        "The submission was already approved or rejected; it can no longer change."
    )
}
ERROR_415 = {
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: error_response(
        "Send application/json, or multipart/form-data to upload a hero image."
    )
}
ERROR_429_SUBMISSIONS = {
    status.HTTP_429_TOO_MANY_REQUESTS: error_response(
        "The partner account has sent as many submissions as its rate allows "
        "(DEFAULT_THROTTLE_RATES['submissions'], 20 per hour by default); `detail` says when "
        "to try again and the Retry-After header gives the seconds."
    )
}


class SubmissionLockedError(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "submission_decided"
    default_detail = "This submission was already decided and can no longer change."


# ---------------------------------------------------------------------------------------------
# Serializers


class SubmissionBlockSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=list(BLOCK_TYPES))
    text = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_BLOCK_CHARS,
        help_text="paragraph, heading and quote. Paragraphs and quotes keep bold, italics and "
        "http(s)/mailto links; every other tag, attribute and script is removed.",
    )
    attribution = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=ATTRIBUTION_MAX,
        help_text="quote only: who is quoted (plain text).",
    )
    items = serializers.ListField(
        child=serializers.CharField(allow_blank=True, max_length=MAX_BLOCK_CHARS),
        required=False,
        max_length=MAX_LIST_ITEMS,
        help_text="list only: the bullet points (plain text).",
    )


class BlocksField(serializers.ListField):
    """A list of blocks (a JSON request may also send the list as one JSON string)."""

    child = SubmissionBlockSerializer()

    def to_internal_value(self, data):
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except (ValueError, RecursionError):  # RecursionError: nesting past Python's limit
                raise serializers.ValidationError("Send the blocks as a JSON list.") from None
        return super().to_internal_value(data)


MAX_BODY_BLOCKS = 100


class SubmissionInputSerializer(serializers.Serializer):
    headline = serializers.CharField(max_length=200)
    standfirst = serializers.CharField(max_length=1000, required=False, allow_blank=True)
    body = BlocksField(
        required=False,
        max_length=MAX_BODY_BLOCKS,
        help_text="The body as ordered blocks. Give either this or body_text.",
    )
    body_text = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100_000,
        help_text="The body as plain text instead of blocks: blank lines separate blocks; a "
        "block starting with '## ' is a heading, lines starting with '- ' a bulleted list, "
        "lines starting with '>' a pull quote.",
    )
    topics = serializers.ListField(
        child=serializers.SlugField(),
        required=False,
        max_length=MAX_TOPICS,
        help_text=f"Topic slugs (at most {MAX_TOPICS}); the first is the main topic.",
    )
    hero_image = ImageUploadField(
        required=False,
        help_text="multipart/form-data only: a JPEG, PNG, WebP or GIF (stored re-encoded, "
        "metadata removed).",
    )
    hero_caption = serializers.CharField(max_length=300, required=False, allow_blank=True)
    hero_alt = serializers.CharField(max_length=300, required=False, allow_blank=True)

    def validate_topics(self, slugs: list[str]) -> list[Topic]:
        found = {topic.slug: topic for topic in Topic.objects.filter(slug__in=slugs)}
        unknown = [slug for slug in slugs if slug not in found]
        if unknown:
            raise serializers.ValidationError(f"No such topic: {', '.join(unknown)}.")
        return [found[slug] for slug in slugs]

    def validate(self, attrs):
        sent = set(getattr(self.initial_data, "keys", lambda: [])())
        refused = sorted(sent & PUBLISHER_FIELDS)
        if refused:
            raise serializers.ValidationError(
                {field: ["Set by the publisher; partners cannot set it."] for field in refused}
            )
        return attrs


class FormBlocksField(BlocksField):
    """``body`` in a multipart request, where every part is text holding JSON: one part per
    block (how OpenAPI encodes an array of objects in a form, and how generated clients send
    it) or one part holding the whole list (``curl -F body='[…]'``)."""

    def to_internal_value(self, data):
        parts = [data] if isinstance(data, str) else data
        if isinstance(parts, list) and all(isinstance(part, str) for part in parts):
            blocks: list = []
            for part in parts:
                try:
                    value = json.loads(part)
                except (ValueError, RecursionError):  # RecursionError: nesting too deep
                    raise serializers.ValidationError(
                        "Each body part must be JSON: one block, or the list of blocks."
                    ) from None
                blocks.extend(value if isinstance(value, list) else [value])
            data = blocks
        return super().to_internal_value(data)


class SubmissionInputMultipartSerializer(SubmissionInputSerializer):
    """The same input as multipart/form-data: ``hero_image`` a file, ``body`` JSON parts,
    ``topics`` one part per slug."""

    multipart_form = True  # cms.api.schema: typed as a form carries it

    body = FormBlocksField(
        required=False,
        max_length=MAX_BODY_BLOCKS,
        help_text="The body as ordered blocks, each part one block as JSON (or one part "
        "holding the JSON list). Give either this or body_text. A part that is not JSON, or "
        "not a block, is a 400 naming `body`.",
    )


class SubmissionSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    sponsor: SlugRelatedField[Sponsor] = SlugRelatedField(slug_field="slug", read_only=True)
    body = SubmissionBlockSerializer(many=True, read_only=True)
    topics = serializers.SerializerMethodField(help_text="Topic slugs, main topic first.")
    hero = serializers.SerializerMethodField()
    rejection_reason = serializers.CharField(
        read_only=True, help_text="Why it was rejected (empty unless rejected)."
    )
    submitted_at = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Submission
        fields = [
            "id",
            "url",
            "status",
            "sponsor",
            "headline",
            "standfirst",
            "body",
            "topics",
            "hero",
            "word_count",
            "rejection_reason",
            "submitted_at",
            "updated_at",
            "decided_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, submission: Submission) -> str:
        return absolute(
            self.context.get("request"),
            reverse("api:submission-detail", kwargs={"pk": submission.pk}),
        )

    @extend_schema_field(serializers.ListField(child=serializers.SlugField()))
    def get_topics(self, submission: Submission) -> list[str]:
        return [link.topic.slug for link in submission.submission_topics.all()]

    @extend_schema_field(ImageSerializer(allow_null=True))
    def get_hero(self, submission: Submission) -> dict | None:
        return image_data(
            submission.hero_renditions,
            alt=submission.hero_alt,
            caption=submission.hero_caption,
            request=self.context.get("request"),
        )


# ---------------------------------------------------------------------------------------------
# Access and rate


class IsPartner(BasePermission):
    audience = "partner"  # the schema's tag for the operations it guards (cms.api.schema)
    message = (
        "Only partner accounts can use submissions (editors moderate them in the admin), and "
        "the partner's sponsor must be active."
    )

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        return partner_can_submit(partner_for(request.user))


class SubmissionRateThrottle(BaseThrottle):
    """Limits new submissions per partner account (POST only), counted in the database."""

    scope = "submissions"

    def allow_request(self, request, view) -> bool:
        self._wait = None
        if request.method != "POST" or not request.user.is_authenticated:
            return True
        self._wait = submission_wait(user=request.user)
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait


def _throttled(wait: float) -> exceptions.Throttled:
    limit, _, period = submission_rate()
    message = SubmissionRateLimitedError(wait=wait, limit=limit, period=period).message
    return exceptions.Throttled(wait=wait, detail=message)


# ---------------------------------------------------------------------------------------------
# Views

# One component per media type (cms.api.schema): a form carries ``body`` as JSON parts.
SUBMISSION_REQUEST = {
    "application/json": SubmissionInputSerializer,
    "multipart/form-data": SubmissionInputMultipartSerializer,
}


def _input_serializer(request) -> type[SubmissionInputSerializer]:
    if request.content_type.startswith("multipart/"):
        return SubmissionInputMultipartSerializer
    return SubmissionInputSerializer


@extend_schema_view(
    list=extend_schema(
        summary="Your submissions, newest first, with their review status",
        responses={200: SubmissionSerializer, **ERROR_400, **ERROR_401, **ERROR_403, **ERROR_404},
    ),
    create=extend_schema(
        summary="Submit content for editorial review (“Add your own content +”)",
        request=SUBMISSION_REQUEST,
        responses={
            201: SubmissionSerializer,
            **ERROR_400,
            **ERROR_401,
            **ERROR_403,
            **ERROR_415,
            **ERROR_429_SUBMISSIONS,
        },
    ),
    retrieve=extend_schema(
        summary="One of your submissions",
        responses={200: SubmissionSerializer, **ERROR_401, **ERROR_403, **ERROR_404},
    ),
    partial_update=extend_schema(
        summary="Change your pending submission (only the fields sent)",
        request=SUBMISSION_REQUEST,
        responses={
            200: SubmissionSerializer,
            **ERROR_400,
            **ERROR_401,
            **ERROR_403,
            **ERROR_404,
            **ERROR_409,
            **ERROR_415,
        },
    ),
    destroy=extend_schema(
        summary="Withdraw your pending submission",
        responses={204: None, **ERROR_401, **ERROR_403, **ERROR_404, **ERROR_409},
    ),
)
class SubmissionViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    authentication_classes = [ThrottledTokenAuthentication]
    permission_classes = [IsPartner]
    throttle_classes = [SubmissionRateThrottle]
    parser_classes = [JSONParser, MultiPartParser]
    serializer_class = SubmissionSerializer
    filterset_class = None
    filter_backends = []
    # PATCH changes a pending submission; there is no whole-object PUT.
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no real caller
            return Submission.objects.none()
        return own_submissions(user=self.request.user)

    def throttled(self, request, wait):
        raise _throttled(wait)

    def _output(self, submission: Submission, status_code: int = 200) -> Response:
        submission = self.get_queryset().get(pk=submission.pk)
        data = SubmissionSerializer(submission, context=self.get_serializer_context()).data
        headers = {"Location": data["url"]} if status_code == 201 else None
        return Response(data, status=status_code, headers=headers)

    def create(self, request, *args, **kwargs):
        given = _input_serializer(request)(data=request.data, context={"request": request})
        given.is_valid(raise_exception=True)
        try:
            submission = submission_create(user=request.user, data=given.validated_data)
        except SubmissionRateLimitedError as limited:
            raise _throttled(limited.wait) from None
        return self._output(submission, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        submission = self.get_object()
        given = _input_serializer(request)(
            data=request.data, partial=True, context={"request": request}
        )
        given.is_valid(raise_exception=True)
        try:
            submission = submission_update(
                submission=submission, user=request.user, data=given.validated_data
            )
        except SubmissionDecidedError as decided:
            raise SubmissionLockedError(str(decided)) from None
        return self._output(submission)

    def destroy(self, request, *args, **kwargs):
        submission = self.get_object()
        try:
            submission_withdraw(submission=submission, user=request.user)
        except SubmissionDecidedError as decided:
            raise SubmissionLockedError(str(decided)) from None
        return Response(status=status.HTTP_204_NO_CONTENT)
