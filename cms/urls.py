from django.conf import settings
from django.contrib import admin
from django.http import JsonResponse
from django.urls import URLPattern, URLResolver, include, path
from django.views.decorators.http import require_GET
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from sponsors.api.urls import ads_urlpatterns


@require_GET
def health(request):
    """Liveness check for load balancers (and the benchmark's trivial baseline): no I/O."""
    return JsonResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


api_v1: list[URLPattern | URLResolver] = [
    path("health/", health, name="health"),
    # The ad-serving hot path first, not behind a walk through every router.
    *ads_urlpatterns,
    path("", include("cms.api.urls")),
    path("", include("sponsors.api.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("partners/", include("cms.partner_pages")),
    path("api/v1/", include((api_v1, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

if settings.SERVE_MEDIA:
    # Uploaded media served by the app itself (development and single-box installs); a
    # production deployment may hand /media/ to its web server or object storage instead.
    urlpatterns += [
        path(
            f"{settings.MEDIA_URL.strip('/')}/<path:path>",
            serve,
            {"document_root": settings.MEDIA_ROOT},
        )
    ]


# Unknown addresses under /api/ answer in the API's error format, not with an HTML page.
handler404 = "cms.api.errors.not_found"
