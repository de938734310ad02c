"""The view serving the OpenAPI schema (``/api/schema/``)."""

from __future__ import annotations

from drf_spectacular.views import SpectacularAPIView
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response


class SchemaView(SpectacularAPIView):
    """drf-spectacular's schema view (YAML, or JSON with ``?format=json``), whose errors
    are the API's error format in JSON: an unknown ``?format=`` is a 404 that its YAML
    renderer would otherwise write as YAML."""

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response) and response.status_code >= 400:
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)
