from django.urls import path
from rest_framework.routers import DefaultRouter

from sponsors.api import ads

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False

urlpatterns = [
    path("ads/", ads.AdDecisionView.as_view(), name="ads-decision"),
    path("ads/impression/<str:token>/", ads.ImpressionView.as_view(), name="ads-impression"),
    path("ads/click/<str:token>/", ads.ClickView.as_view(), name="ads-click"),
    *router.urls,
]
