from django.urls import path
from rest_framework.routers import DefaultRouter

from sponsors.api import (
    ad_ops,
    ad_ops_countdowns,
    ad_ops_history,
    ad_ops_profiles,
    ads,
    countdowns,
    profiles,
    reads,
    trending,
)

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("sponsors", profiles.SponsorViewSet, basename="sponsor")
router.register("insights", profiles.InsightViewSet, basename="insight")
router.register("countdowns", countdowns.CountdownViewSet, basename="countdown")
router.register("ad-ops/slots", ad_ops.SlotViewSet, basename="ad-ops-slot")
router.register("ad-ops/campaigns", ad_ops.CampaignViewSet, basename="ad-ops-campaign")
router.register("ad-ops/creatives", ad_ops.CreativeViewSet, basename="ad-ops-creative")
router.register("ad-ops/sponsors", ad_ops_profiles.StaffSponsorViewSet, basename="ad-ops-sponsor")
router.register("ad-ops/labels", ad_ops_profiles.StaffLabelViewSet, basename="ad-ops-label")
router.register(
    "ad-ops/sponsorships", ad_ops_profiles.StaffSponsorshipViewSet, basename="ad-ops-sponsorship"
)
router.register(
    "ad-ops/countdowns", ad_ops_countdowns.StaffCountdownViewSet, basename="ad-ops-countdown"
)

# The ad-serving hot path, spliced by cms/urls.py at the head of /api/v1/ (not nested in
# an include): a request resolves after a couple of pattern tests.
ads_urlpatterns = [
    path("ads/", ads.AdDecisionView.as_view(), name="ads-decision"),
    path("ads/impression/<str:token>/", ads.ImpressionView.as_view(), name="ads-impression"),
    path("ads/click/<str:token>/", ads.ClickView.as_view(), name="ads-click"),
    # Article reads: the view beacon of a page view (its token is the article's read_url).
    path("reads/<str:token>/", reads.ReadView.as_view(), name="reads-beacon"),
    path("trending/", trending.TrendingView.as_view(), name="trending"),
]

urlpatterns = [
    path(
        "ad-ops/reports/delivery/",
        ad_ops.DeliveryReportView.as_view(),
        name="ad-ops-delivery-report",
    ),
    path("ad-ops/history/", ad_ops_history.HistoryView.as_view(), name="ad-ops-history"),
    *router.urls,
]
