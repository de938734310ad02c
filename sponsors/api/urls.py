from rest_framework.routers import DefaultRouter

from cms.api.submissions import SubmissionViewSet
from sponsors.api import profiles

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("sponsors", profiles.SponsorViewSet, basename="sponsor")
router.register("insights", profiles.InsightViewSet, basename="insight")
router.register("submissions", SubmissionViewSet, basename="submission")

urlpatterns = router.urls
