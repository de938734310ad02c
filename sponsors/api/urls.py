from django.urls import path
from rest_framework.routers import DefaultRouter

from sponsors.api import ads, countdowns, profiles

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("sponsors", profiles.SponsorViewSet, basename="sponsor")
router.register("insights", profiles.InsightViewSet, basename="insight")
router.register("countdowns", countdowns.CountdownViewSet, basename="countdown")

# The ad-serving hot path, spliced by cms/urls.py at the head of /api/v1/ (not nested in
# an include): a request resolves after a couple of pattern tests.
ads_urlpatterns = [
    path("ads/", ads.AdDecisionView.as_view(), name="ads-decision"),
    path("ads/impression/<str:token>/", ads.ImpressionView.as_view(), name="ads-impression"),
    path("ads/click/<str:token>/", ads.ClickView.as_view(), name="ads-click"),
]

urlpatterns = [
    *router.urls,
]
