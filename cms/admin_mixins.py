"""Admin building blocks shared by the editorial and the commercial admin.

The sponsors admin imports from here; nothing here imports from sponsors.
"""

from __future__ import annotations

from django.http import HttpRequest


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
