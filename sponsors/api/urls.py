from rest_framework.routers import DefaultRouter

from sponsors.api import countdowns

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("countdowns", countdowns.CountdownViewSet, basename="countdown")

urlpatterns = router.urls
