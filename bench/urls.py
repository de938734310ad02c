"""The product's URLs plus one comparison endpoint that exists only in the benchmark."""

from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.utils import timezone

from cms.urls import urlpatterns as product_urlpatterns
from sponsors import tracking
from sponsors.counters import (
    IMPRESSION,
    hour_of,
    insert_receipts,
    upsert_apart,
    upsert_hourly_delivery,
)


def naive_impression(request, token: str):
    """The beacon with the same rules, but one database write per event, no buffering.

    Same token check, bot split and replay protection (a unique receipt row) as the real
    beacon; the count is an ``INSERT … ON CONFLICT DO UPDATE`` in the same transaction. This
    is what "just update the database on every beacon" costs (the hourly row only, as
    before the product added its daily rollups).
    """
    try:
        data = tracking.read_token(IMPRESSION, token)
    except tracking.InvalidTokenError:
        return JsonResponse({"status": 400}, status=400)
    now = timezone.now()
    reason = tracking.event_reason(user_agent=request.META.get("HTTP_USER_AGENT"))
    with transaction.atomic():
        if insert_receipts([f"naive:{data.placement_id}"], at=now):  # else a replay
            if reason is None:
                upsert_hourly_delivery({(hour_of(now), data.creative_id, data.slot_id): (1, 0)})
            else:
                key = (hour_of(now), IMPRESSION, reason, data.creative_id, data.slot_id, 0)
                upsert_apart({key: 1})
    return HttpResponse(status=204)


urlpatterns = [
    path("bench/naive-impression/<str:token>/", naive_impression),
    *product_urlpatterns,
]
