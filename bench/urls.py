"""The product's URLs plus one comparison endpoint that exists only in the benchmark."""

from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.utils import timezone

from cms.urls import urlpatterns as product_urlpatterns
from sponsors import tracking
from sponsors.counters import IMPRESSION
from sponsors.models import DeliveryCounter


def naive_impression(request, token: str):
    """What a first version of a beacon would do: verify, then one UPDATE per event.

    Same token check as the real beacon; no replay protection, no bot split, no buffering.
    """
    try:
        data = tracking.read_token(IMPRESSION, token)
    except tracking.InvalidTokenError:
        return JsonResponse({"status": 400}, status=400)
    day = timezone.now().date()
    counter = DeliveryCounter.objects.filter(
        day=day, creative_id=data.creative_id, slot_id=data.slot_id
    )
    if not counter.update(impressions=F("impressions") + 1):
        try:
            with transaction.atomic():
                DeliveryCounter.objects.create(
                    day=day, creative_id=data.creative_id, slot_id=data.slot_id, impressions=1
                )
        except IntegrityError:
            counter.update(impressions=F("impressions") + 1)
    return HttpResponse(status=204)


urlpatterns = [
    path("bench/naive-impression/<str:token>/", naive_impression),
    *product_urlpatterns,
]
