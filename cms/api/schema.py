"""How the OpenAPI schema names, groups and types operations (drf-spectacular's AutoSchema).

One place decides, from the URL and the view, so a new operation is tagged and named with no
decorator of its own:

- **tags by audience** (described in ``SPECTACULAR_SETTINGS["TAGS"]``): ``ad-ops`` for
  everything under ``/api/v1/ad-ops/`` (staff tokens), ``partner`` for views whose permission
  names it (``IsPartner.audience``), ``public`` for the rest (anonymous readers, the ad
  decision and its beacons);
- **operation ids that read as calls** (``list_articles``, ``get_article``,
  ``create_submission``, ``pause_campaign``), built from the path and the method; the
  hot path's plain views, which have no action, are named in ``NAMED``; HEAD and OPTIONS take
  their GET's id with ``_head`` / ``_options``;
- **one request component per media type**: an operation that reads JSON and multipart gets
  ``<Name>Request`` for JSON and ``<Name>MultipartRequest`` for multipart/form-data, so a
  generated client has a type per way of sending (with one shared type openapi-python-client
  can only ever send the multipart one) and a field may be typed as a form can carry it (no
  null in a form: an empty part clears a field that allows null);
- **anonymous operations** carry no ``security`` (rather than ``[{}]``).
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import is_serializer

STAFF_PREFIX = "/api/v1/ad-ops/"

# Plain views with no viewset action to name them by: (path, method) -> operation id.
NAMED = {
    ("/api/v1/ads/", "GET"): "get_page_decision",
    ("/api/v1/ads/impression/{token}/", "GET"): "send_impression",
    ("/api/v1/ads/impression/{token}/", "POST"): "send_impression_beacon",
    ("/api/v1/ads/click/{token}/", "GET"): "follow_click",
    ("/api/v1/reads/{token}/", "GET"): "send_read",
    ("/api/v1/reads/{token}/", "POST"): "send_read_beacon",
    ("/api/v1/trending/", "GET"): "list_trending",
    ("/api/v1/pages/articles/{slug}/", "GET"): "get_article_page",
    ("/api/v1/ad-ops/reports/delivery/", "GET"): "get_delivery_report",
}

# Staff resources that readers also have (public ``list_sponsors``, ``get_countdown``): the
# staff operations say ``staff_`` (``list_staff_sponsors``) so every id stays unique.
STAFF_NOUNS = {"sponsors", "countdowns"}

DETAIL_VERBS = {"GET": "get", "PUT": "replace", "PATCH": "update", "DELETE": "delete"}

JSON = "application/json"
MULTIPART = "multipart/form-data"


def _singular(noun: str) -> str:
    return noun[:-1] if noun.endswith("s") else noun


@functools.cache
def multipart_variant(serializer_class: type) -> type:
    """The same serializer under its own component name for multipart/form-data requests."""
    name = serializer_class.__name__.removesuffix("Serializer") + "MultipartSerializer"
    return type(
        name,
        (serializer_class,),
        {"__module__": serializer_class.__module__, "multipart_form": True},
    )


class AudienceAutoSchema(AutoSchema):
    def get_tags(self) -> list[str]:
        if self.path.startswith(STAFF_PREFIX):
            return ["ad-ops"]
        for permission in self.view.get_permissions():
            audience = getattr(permission, "audience", None)  # e.g. IsPartner: "partner"
            if audience:
                return [audience]
        return ["public"]

    def get_operation_id(self) -> str:
        method = self.method.upper()
        if method in ("HEAD", "OPTIONS"):
            return f"{self._operation_id('GET')}_{method.lower()}"
        return self._operation_id(method)

    def _operation_id(self, method: str) -> str:
        named = NAMED.get((self.path, method))
        if named:
            return named
        parts = self.path.removeprefix("/api/v1/").strip("/").split("/")
        staff = parts[0] == "ad-ops"
        if staff:
            parts = parts[1:]
        nouns = [part.replace("-", "_") for part in parts if not part.startswith("{")]
        if staff and nouns[0] in STAFF_NOUNS:
            nouns[0] = f"staff_{nouns[0]}"
        if parts[-1].startswith("{"):  # one object: /articles/{slug}/
            return f"{DETAIL_VERBS[method]}_{'_'.join(_singular(noun) for noun in nouns)}"
        *owners, last = nouns
        owner = "_".join(_singular(noun) for noun in owners)
        if len(parts) > 1:  # under one object: /authors/{slug}/articles/, …/{id}/pause/
            return f"list_{owner}_{last}" if method == "GET" else f"{last}_{owner}"
        return f"list_{last}" if method == "GET" else f"create_{_singular(last)}"

    def get_auth(self) -> list[dict[str, list[str]]]:
        # drf-spectacular writes ``[{}]`` (anonymous) for a view with no authentication;
        # openapi-python-client reads any non-empty list as "needs a token" and asks for an
        # AuthenticatedClient. No ``security`` at all says the same (the document sets none).
        auth = super().get_auth()
        return [] if auth == [{}] else auth

    def _map_serializer(self, serializer: Any, direction: str, bypass_extensions: bool = False):
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        if getattr(serializer, "multipart_form", False):
            # A form part is text: it cannot be null. An empty one is (DRF reads '' as None
            # for a field that allows null), so say that instead.
            for field in schema.get("properties", {}).values():
                text = field.get("description", "")
                if field.pop("nullable", False) and "empty value" not in text:
                    field["description"] = f"{text} An empty value clears it.".strip()
        return schema

    def get_request_serializer(self) -> Any:
        serializer = super().get_request_serializer()
        media_types = self.map_parsers()
        if JSON in media_types and MULTIPART in media_types and is_serializer(serializer):
            serializer_class = serializer if inspect.isclass(serializer) else type(serializer)
            return {
                media_type: multipart_variant(serializer_class)
                if media_type == MULTIPART
                else serializer_class
                for media_type in media_types
            }
        return serializer
