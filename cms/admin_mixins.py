"""Admin building blocks shared by the editorial and the commercial admin.

The sponsors admin imports from here; nothing here imports from sponsors.
"""

from __future__ import annotations

from django.http import HttpRequest
from js_asset import Media as JsAssetMedia


class ReadOnlyAdminMixin:
    """Rows are shown to whoever may view them, and never added, changed or deleted here.

    For records that other code writes (delivery counts, history logs). Works on a
    ``ModelAdmin`` and on an inline (whose ``has_add_permission`` also receives ``obj``).
    """

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class CspNonceMediaMixin:
    """The change form's media carry the response's Content-Security-Policy nonce.

    django-prose-editor's widget brings an inline ``<script type="importmap">``; the policy
    (django-csp, cms/settings.py) lets inline scripts run only with the nonce, and
    django-js-asset's ``Media`` writes it on every tag it renders.
    """

    def render_change_form(self, request: HttpRequest, context, *args, **kwargs):
        nonce = getattr(request, "csp_nonce", "")
        if nonce is not None and "media" in context:
            context["media"] = JsAssetMedia.from_media(context["media"], nonce=nonce)
        return super().render_change_form(request, context, *args, **kwargs)  # type: ignore[misc]
