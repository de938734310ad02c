from rest_framework.routers import DefaultRouter

from sponsors.api import countdowns, profiles

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("sponsors", profiles.SponsorViewSet, basename="sponsor")
router.register("insights", profiles.InsightViewSet, basename="insight")
router.register("countdowns", countdowns.CountdownViewSet, basename="countdown")

urlpatterns = router.urls
