"""Admin building blocks shared by the editorial and the commercial admin.

The sponsors admin imports from here; nothing here imports from sponsors.
"""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
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


class RefusedFieldKeepsItsReasonMixin:
    """A ``ModelForm`` whose fields refused by the form keep that reason alone.

    When an upload is refused (the image rules, ``cms.images.REASONS``), the model's
    ``clean()`` then sees no file and would add "An image banner needs an image." under the
    same field; the reason the upload was refused is the one answer, as on the API.
    """

    def _update_errors(self, errors: ValidationError) -> None:
        if hasattr(errors, "error_dict"):
            refused = set(getattr(self, "_errors", None) or {})
            errors.error_dict = {
                field: field_errors
                for field, field_errors in errors.error_dict.items()
                if field == NON_FIELD_ERRORS or field not in refused
            }
        super()._update_errors(errors)  # type: ignore[misc]  # a ModelForm's
