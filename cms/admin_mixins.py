"""Admin building blocks shared by the editorial and the commercial admin.

The sponsors admin imports from here; nothing here imports from sponsors.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import PAGE_VAR
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import models
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.text import capfirst

from cms import history


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


class AuditHistoryAdminMixin:
    """The "History" page shows the audit history (``cms.history``), and saves record it.

    The page lists, newest first, who did what and when, with each changed field's old and
    new value, to whoever may view the object (the permission of Django's own history page).
    A save in the admin makes one history row, written after its inlines and many-to-many
    fields are saved, so the row holds the object as the form left it.
    ``audit_related`` adds the history of inline rows with their own history (a countdown's
    deadline phases): ``(title, model, name of the field pointing at the object)``.
    """

    audit_history_per_page = 50
    audit_related: tuple[tuple[str, type[models.Model], str], ...] = ()

    def save_model(self, request: HttpRequest, obj, form, change) -> None:
        obj.skip_history_when_saving = True
        super().save_model(request, obj, form, change)  # type: ignore[misc]  # a ModelAdmin mixin

    def save_related(self, request: HttpRequest, form, formsets, change) -> None:
        try:
            super().save_related(request, form, formsets, change)  # type: ignore[misc]
        finally:
            if hasattr(form.instance, "skip_history_when_saving"):
                del form.instance.skip_history_when_saving
        history.record(form.instance, created=not change)

    def save_formset(self, request: HttpRequest, form, formset, change) -> None:
        # Inline rows with a history of their own (creatives, deadline phases): one row each,
        # after their many-to-many fields (a creative's slots) are saved too.
        if formset.model not in history.AuditedHistory.registry:
            # Rows deleted here point at the object being saved (not a copy read afresh), so
            # what they record of it (an article's body) waits for its one row.
            fk = getattr(formset, "fk", None)
            if fk is not None:
                for deleted in formset.deleted_forms:
                    setattr(deleted.instance, fk.name, form.instance)
            super().save_formset(request, form, formset, change)  # type: ignore[misc]
            return
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            obj.delete()
        created = {id(obj): obj._state.adding for obj in instances}
        try:
            for obj in instances:
                obj.skip_history_when_saving = True
                obj.save()
            formset.save_m2m()
        finally:
            for obj in instances:
                if hasattr(obj, "skip_history_when_saving"):
                    del obj.skip_history_when_saving
        for obj in instances:
            history.record(obj, created=created[id(obj)])

    def history_view(self, request: HttpRequest, object_id: str, extra_context=None):
        admin_self: Any = self
        model = admin_self.model
        opts = model._meta
        obj = admin_self.get_object(request, unquote(object_id))
        if obj is None:
            return admin_self._get_obj_does_not_exist_redirect(request, opts, object_id)
        if not admin_self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        paginator = Paginator(
            history.history_rows(model, **{opts.pk.attname: obj.pk}), self.audit_history_per_page
        )
        page = paginator.get_page(request.GET.get(PAGE_VAR, 1))
        sections = []
        for title, related_model, field_name in self.audit_related:
            rows = list(history.history_rows(related_model, **{f"{field_name}_id": obj.pk})[:200])
            names = {}
            for row in reversed(rows):  # newest last: the newest name wins
                names[row.id] = str(row.history_object)
            entries = history.history_entries(related_model, rows)
            sections.append(
                {
                    "title": title,
                    "entries": [(names.get(entry.object_id, ""), entry) for entry in entries],
                }
            )
        context = {
            **admin_self.admin_site.each_context(request),
            "title": f"History: {obj}",
            "subtitle": None,
            "entries": history.history_entries(model, page.object_list),
            "page_obj": page,
            "page_range": paginator.get_elided_page_range(page.number),
            "page_var": PAGE_VAR,
            "pagination_required": paginator.num_pages > 1,
            "sections": sections,
            "module_name": str(capfirst(opts.verbose_name_plural)),
            "object": obj,
            "opts": opts,
            "preserved_filters": admin_self.get_preserved_filters(request),
            **(extra_context or {}),
        }
        request.current_app = admin_self.admin_site.name
        return TemplateResponse(request, "admin/audit_history.html", context)


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
