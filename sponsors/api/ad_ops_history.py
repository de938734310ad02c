"""Staff API: the audit history of articles, sponsors, sponsorships and the ad inventory.

``GET /api/v1/ad-ops/history/?model=campaign&object_id=5``: who created, changed or deleted
the object, when, and each changed field's old and new value, newest first, paginated. The
entries are the admin's history page's (``cms.history.history_entries``). Reading needs the
model's ``view_`` permission, as the admin's history page does: anonymous callers get a 401,
accounts without it a 403.
"""

from __future__ import annotations

from django.db import models
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, generics, permissions, serializers

from cms import history
from cms.api.errors import ERROR_400, ERROR_401, ERROR_403, ERROR_404
from cms.models import Article
from sponsors.api.ad_ops import _is_staff
from sponsors.models import Campaign, Countdown, Creative, DeadlinePhase, Slot, Sponsor, Sponsorship

# What ``model=`` names: every audited model.
AUDITED: dict[str, type[models.Model]] = {
    "article": Article,
    "sponsor": Sponsor,
    "sponsorship": Sponsorship,
    "slot": Slot,
    "campaign": Campaign,
    "creative": Creative,
    "countdown": Countdown,
    "deadline_phase": DeadlinePhase,
}
MAX_ID = 2**63 - 1  # the largest id a database column holds


class HistoryQuerySerializer(serializers.Serializer):
    model = serializers.ChoiceField(
        choices=sorted(AUDITED), help_text="Which kind of object: " + ", ".join(sorted(AUDITED))
    )
    object_id = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="The object's id (deleted objects too)."
    )


class ChangeSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="The field's name (`is_active`, `slots`).")
    old = serializers.JSONField(
        allow_null=True,
        help_text="The value before (null on creation): ids for relations, a list of ids for "
        "many-to-many fields, ISO 8601 for times.",
    )
    new = serializers.JSONField(allow_null=True, help_text="The value after (null on deletion).")
    old_display = serializers.CharField(help_text="The value before, as the admin shows it.")
    new_display = serializers.CharField(help_text="The value after, as the admin shows it.")

    def get_fields(self):
        # "label" is a Field attribute, so it cannot be declared as a class attribute.
        fields = super().get_fields()
        label = serializers.CharField(help_text="What the admin calls it (“active”).")
        return {"field": fields.pop("field"), "label": label, **fields}


class HistoryEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The history row's id.")
    object_id = serializers.IntegerField()
    at = serializers.DateTimeField(help_text="When.")
    user = serializers.CharField(
        allow_null=True, help_text="Who (username); null for commands and the system."
    )
    action = serializers.ChoiceField(choices=["created", "changed", "deleted"])
    reason = serializers.CharField(
        help_text="Why, when the writer said (“paused”, “extended: …”, “load_demo_data”)."
    )
    changes = ChangeSerializer(
        many=True,
        help_text="Created: the values it was made with. Changed: the fields that differ from "
        "the entry before. Deleted: the values it had.",
    )


class StaffOnly(permissions.BasePermission):
    """Staff accounts (401 anonymous, 403 others); the model's permission is checked once the
    query says which model."""

    def has_permission(self, request, view) -> bool:
        return _is_staff(request)


class HistoryView(generics.ListAPIView):
    serializer_class = HistoryEntrySerializer
    permission_classes = [StaffOnly]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator
            return history.history_rows(Campaign).none()
        query = HistoryQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        model = AUDITED[query.validated_data["model"]]
        meta = model._meta
        if not self.request.user.has_perm(f"{meta.app_label}.view_{meta.model_name}"):
            raise exceptions.PermissionDenied()
        self.model = model
        self.object_id = query.validated_data["object_id"]
        return history.history_rows(model, **{meta.pk.attname: self.object_id})

    @extend_schema(
        summary="The audit history of an object",
        description=(
            "Every create, change and delete of the object, newest first: when, who, what "
            "and the changed fields with their old and new values. Needs the view permission "
            "of that kind of object. Unknown objects (never recorded and not existing) are "
            "404s; objects that existed before the audit history started and have not "
            "changed since have an empty list."
        ),
        parameters=[HistoryQuerySerializer],
        responses={
            200: HistoryEntrySerializer(many=True),
            **ERROR_400,
            **ERROR_401,
            **ERROR_403,
            **ERROR_404,
        },
    )
    def get(self, request, *args, **kwargs):
        rows = self.get_queryset()
        page = self.paginate_queryset(rows)
        assert page is not None  # pagination is on everywhere (settings)
        if not page and not self.model._default_manager.filter(pk=self.object_id).exists():
            raise Http404
        entries = history.history_entries(self.model, page)
        return self.get_paginated_response(self.get_serializer(entries, many=True).data)
