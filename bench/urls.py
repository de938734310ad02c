"""The product's URLs plus one comparison endpoint that exists only in the benchmark."""

from django.db import IntegrityError, transaction
from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.utils import timezone

from cms.urls import urlpatterns as product_urlpatterns
from sponsors import tracking
from sponsors.counters import IMPRESSION, TrackedEvent, upsert_counts
from sponsors.models import TrackingReceipt


def naive_impression(request, token: str):
    """The beacon with the same rules, but one database write per event, no buffering.

    Same token check, bot split and replay protection (a unique receipt row) as the real
    beacon; the count is an ``INSERT … ON CONFLICT DO UPDATE`` in the same transaction. This
    is what "just update the database on every beacon" costs.
    """
    try:
        data = tracking.read_token(IMPRESSION, token)
    except tracking.InvalidTokenError:
        return JsonResponse({"status": 400}, status=400)
    event = TrackedEvent(
        kind=IMPRESSION,
        placement_id=data.placement_id,
        creative_id=data.creative_id,
        slot_id=data.slot_id,
        campaign_id=data.campaign_id,
        cap_period=data.cap_period,
        viewer=data.viewer,
        bot=tracking.is_bot(request.META.get("HTTP_USER_AGENT")),
        at=timezone.now(),
    )
    try:
        with transaction.atomic():
            TrackingReceipt.objects.create(key=f"naive:{data.placement_id}")
            upsert_counts([(event.day, event.creative_id, event.slot_id, {event.column: 1})])
    except IntegrityError:
        pass  # a replay
    return HttpResponse(status=204)


urlpatterns = [
    path("bench/naive-impression/<str:token>/", naive_impression),
    *product_urlpatterns,
]
