from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from django.views.static import serve
from drf_spectacular.views import SpectacularSwaggerView
from rest_framework.exceptions import MethodNotAllowed

from cms.api.errors import api_error, unmatched_api_path
from cms.api.health import healthz
from cms.api.schema_view import SchemaView
from sponsors.api.urls import ads_urlpatterns
from sponsors.calendar_views import calendar_feed

HEALTH_ALLOW = "GET, HEAD, OPTIONS"


@csrf_exempt  # a probe's POST is a 405 in the error format, not the CSRF failure page
def health(request: HttpRequest) -> HttpResponse:
    """Liveness check for load balancers (and the benchmark's trivial baseline): no I/O.

    GET and HEAD (which some load balancers send) answer 200; OPTIONS the allowed methods;
    any other method 405 in the API's error format, as every API endpoint does.
    """
    method = request.method
    if method == "GET" or method == "HEAD":
        return JsonResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})
    headers = {"Allow": HEALTH_ALLOW, "Cache-Control": "no-store"}
    if method == "OPTIONS":  # the shape DRF's OPTIONS answers elsewhere in the API
        return JsonResponse(
            {
                "name": "Health",
                "description": "Liveness check for load balancers.",
                "renders": ["application/json"],
                "parses": [],
            },
            headers=headers,
        )
    return api_error(MethodNotAllowed(method or ""), headers=headers)


api_v1: list[URLPattern | URLResolver] = [
    path("health/", health, name="health"),
    # The ad-serving hot path first, not behind a walk through every router.
    *ads_urlpatterns,
    path("", include("cms.api.urls")),
    path("", include("sponsors.api.urls")),
]

urlpatterns = [
    # Readiness (database, cache, counters): 200 or 503, for load balancers and monitors.
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("partners/", include("cms.partner_pages")),
    # A staff member's personal iCalendar feed: the secret token is the key, no session.
    path("calendar/<str:token>.ics", calendar_feed, name="calendar-feed"),
    path("api/v1/", include((api_v1, "api"))),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    # Last under /api/: anything unmatched is the API's JSON 404, with DEBUG on as well.
    re_path(r"^api/", unmatched_api_path, name="api-unmatched"),
]

if settings.SERVE_MEDIA:
    # Uploaded media served by the app itself (development and single-box installs); a
    # production deployment may hand /media/ to its web server or object storage instead.
    def media(request: HttpRequest, path: str) -> HttpResponseBase:
        # MEDIA_ROOT read per request, not once at import (tests give each their own).
        return serve(request, path, document_root=str(settings.MEDIA_ROOT))

    urlpatterns += [path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", media)]


# The reference pages last: every path above keeps its own routes.
urlpatterns += [path("", include("cms.site.urls"))]

# Http404 raised under /api/ (with DEBUG off) answers in the API's error format too.
handler404 = "cms.api.errors.not_found"
# Errors answered with DEBUG off: the database not answering is a 503, anything else a 500
# (in the API's error format under /api/).
handler500 = "cms.outages.server_error"
