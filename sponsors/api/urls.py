from django.urls import path
from rest_framework.routers import DefaultRouter

from sponsors.api import ads

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False

# The ad-serving hot path, mounted by cms/urls.py under /api/v1/ads/ before the other API
# routes so that a request resolves after one prefix test.
ads_urlpatterns = [
    path("", ads.AdDecisionView.as_view(), name="ads-decision"),
    path("impression/<str:token>/", ads.ImpressionView.as_view(), name="ads-impression"),
    path("click/<str:token>/", ads.ClickView.as_view(), name="ads-click"),
]

urlpatterns = [
    *router.urls,
]
