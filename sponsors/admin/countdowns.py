"""Countdown admin: phases entered in the countdown's zone, an "Extend" page, read-only history."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from cms.admin_mixins import AuditHistoryAdminMixin, ReadOnlyAdminMixin
from sponsors.countdowns import (
    countdown_extend,
    countdown_snapshot,
    countdown_state,
    deadline_in_zone,
    format_local,
    local_parts,
    phase_deadline_errors,
)
from sponsors.models import Countdown, DeadlineExtension, DeadlinePhase
from sponsors.models.countdowns import extended_label_for

OCCURRENCE_CHOICES = [
    ("", "—"),
    ("first", "first: before the clocks go back (summer time)"),
    ("second", "second: after the clocks go back (standard time)"),
]


def _zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class LocalDateTimeField(forms.SplitDateTimeField):
    """A date and a time as typed, with no zone: the countdown's zone is applied in ``clean``.

    (Django's own field would read them in the admin's zone and refuse DST edge cases with a
    generic message; here the countdown's zone decides and the messages say what to do.)
    """

    def compress(self, data_list):
        if data_list:
            if data_list[0] in self.empty_values:
                raise ValidationError(self.error_messages["invalid_date"], code="invalid_date")
            if data_list[1] in self.empty_values:
                raise ValidationError(self.error_messages["invalid_time"], code="invalid_time")
            return dt.datetime.combine(*data_list)
        return None


def _read_local(form: forms.Form, *, field: str, zone: str) -> dt.datetime | None:
    """Turn ``field`` (wall-clock time in ``zone``) into a UTC instant, or add a form error."""
    local = form.cleaned_data.get(field)
    if local is None:
        return None
    occurrence = form.cleaned_data.get("occurrence") or None
    try:
        return deadline_in_zone(local, zone=zone, occurrence=occurrence, field=field)
    except ValidationError as error:
        for name, errors in error.error_dict.items():
            form.add_error(name, errors)
        return None


class CountdownForm(forms.ModelForm):
    time_zone = forms.TypedChoiceField(
        choices=_zone_choices,
        initial="Europe/London",
        help_text="Deadlines are entered and shown in this zone; they are stored in UTC. "
        "Changing it keeps every deadline at the same instant.",
    )
    closed_link_url = forms.URLField(
        label="Closed link URL",
        required=False,
        assume_scheme="https",
        help_text="Optional link shown with the closed message (http or https).",
    )

    class Meta:
        model = Countdown
        fields = [
            "title",
            "slug",
            "time_zone",
            "closed_message",
            "closed_link_url",
            "closed_link_label",
        ]


class PhaseForm(forms.ModelForm):
    deadline_local = LocalDateTimeField(
        label="Deadline (in the countdown’s zone)",
        widget=AdminSplitDateTime,
        help_text="Fixed once saved: move it with “Extend”, which keeps the history.",
    )
    occurrence = forms.ChoiceField(
        label="If the time happens twice",
        choices=OCCURRENCE_CHOICES,
        required=False,
        help_text="Only asked when the clocks go back that night.",
    )

    class Meta:
        model = DeadlinePhase
        fields = ["label", "extended_label"]

    def __init__(self, *args, countdown: Countdown | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.countdown = countdown
        if self.instance.pk:
            local, occurrence = local_parts(self.instance.deadline, zone=self._zone())
            self.fields["deadline_local"].initial = local
            self.fields["deadline_local"].disabled = True
            self.fields["deadline_local"].widget = forms.SplitDateTimeWidget()
            self.fields["occurrence"].initial = occurrence
            self.fields["occurrence"].disabled = True

    def _zone(self) -> str:
        # The countdown form is validated first, so a zone changed in the same save applies.
        return self.countdown.time_zone if self.countdown else "UTC"

    def clean(self):
        cleaned = super().clean()
        if not self.instance.pk:
            deadline = _read_local(self, field="deadline_local", zone=self._zone())
            if deadline is not None:
                self.instance.deadline = deadline
        return cleaned


class PhaseFormSet(BaseInlineFormSet):
    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "countdown": self.instance}

    def clean(self):
        super().clean()
        phases = [
            (form.cleaned_data.get("label", ""), form.instance.deadline)
            for form in self.forms
            if hasattr(form, "cleaned_data")
            and not self._should_delete_form(form)
            and getattr(form.instance, "deadline", None) is not None
        ]
        errors = phase_deadline_errors(phases)  # the rows' order is not the phases' order
        if errors:
            raise next(iter(errors.values()))


class DeadlinePhaseInline(admin.TabularInline):
    model = DeadlinePhase
    form = PhaseForm
    formset = PhaseFormSet
    extra = 0
    min_num = 1
    fields = ["label", "deadline_local", "occurrence", "extended_label", "status", "extend"]
    readonly_fields = ["status", "extend"]
    verbose_name_plural = "deadline phases (shown in time order; the next one ahead is current)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("countdown")

    def get_formset(self, request, obj=None, **kwargs):
        # A countdown without a phase would be closed from the start.
        return super().get_formset(request, obj, validate_min=True, **kwargs)

    @admin.display(description="status")
    def status(self, obj: DeadlinePhase) -> str:
        if not obj.pk:
            return ""
        zone = obj.countdown.time_zone
        parts = ["Passed" if obj.deadline <= timezone.now() else "Ahead"]
        if obj.extended:
            parts.append(
                f"shown as “{obj.display_label}”; first set for "
                f"{format_local(obj.original_deadline, zone)}"
            )
        elif obj.original_deadline != obj.deadline:
            parts.append(f"moved from {format_local(obj.original_deadline, zone)}")
        return " · ".join(parts)

    @admin.display(description="")
    def extend(self, obj: DeadlinePhase) -> str:
        if not obj.pk:
            return ""
        url = reverse("admin:sponsors_countdown_extend", args=[obj.countdown_id])
        return format_html('<a class="button" href="{}?phase={}">Extend</a>', url, obj.pk)


class DeadlineExtensionInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The countdown's extension history: shown to whoever may see the countdown, never edited."""

    model = DeadlineExtension
    fk_name = "countdown"
    extra = 0
    can_delete = False
    fields = ["changed_at", "changed_by_name", "phase_label", "old", "new", "reason"]
    readonly_fields = fields  # type: ignore[assignment]  # names only, no groups
    ordering = ["-created_at", "-pk"]
    verbose_name_plural = "extension history (kept for good: cannot be changed or deleted)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("countdown")

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("sponsors.view_countdown") or request.user.has_perm(
            "sponsors.change_countdown"
        )

    @admin.display(description="changed at")
    def changed_at(self, obj: DeadlineExtension) -> str:
        return format_local(obj.created_at, obj.countdown.time_zone)

    @admin.display(description="old deadline")
    def old(self, obj: DeadlineExtension) -> str:
        return format_local(obj.old_deadline, obj.countdown.time_zone)

    @admin.display(description="new deadline")
    def new(self, obj: DeadlineExtension) -> str:
        return format_local(obj.new_deadline, obj.countdown.time_zone)


class CountdownStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", "Open"), ("closed", "Closed")]

    def queryset(self, request, queryset):
        ahead = {"phases__deadline__gt": timezone.now()}
        if self.value() == "open":
            return queryset.filter(**ahead).distinct()
        if self.value() == "closed":
            return queryset.exclude(**ahead)
        return queryset


class ExtendDeadlineForm(forms.Form):
    phase = forms.ModelChoiceField(queryset=DeadlinePhase.objects.none(), empty_label=None)
    new_deadline = LocalDateTimeField(label="New deadline", widget=AdminSplitDateTime)
    occurrence = forms.ChoiceField(
        label="If the time happens twice",
        choices=OCCURRENCE_CHOICES,
        required=False,
        help_text="Only asked when the clocks go back that night.",
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept in the history with your name and the time.",
    )
    extended_label = forms.CharField(
        label="Label once extended",
        max_length=80,
        required=False,
        help_text="Optional. Blank keeps the phase’s setting (by default “Extended <label>”).",
    )

    def __init__(self, *args, countdown: Countdown, **kwargs):
        super().__init__(*args, **kwargs)
        self.countdown = countdown
        self.fields["phase"].queryset = countdown.phases.order_by("deadline", "pk")  # type: ignore[attr-defined]  # a ModelChoiceField
        self.fields["phase"].label_from_instance = lambda phase: (  # type: ignore[attr-defined]  # a ModelChoiceField
            f"{phase.display_label} — {format_local(phase.deadline, countdown.time_zone)}"
        )
        self.fields["new_deadline"].help_text = (
            f"In the countdown’s zone, {countdown.time_zone}. It is now "
            f"{format_local(timezone.now(), countdown.time_zone)}."
        )

    def clean(self):
        cleaned = super().clean()
        cleaned["new_deadline_utc"] = _read_local(
            self, field="new_deadline", zone=self.countdown.time_zone
        )
        return cleaned


@admin.register(Countdown)
class CountdownAdmin(AuditHistoryAdminMixin, admin.ModelAdmin):
    audit_related = (("Deadline phases", DeadlinePhase, "countdown"),)
    form = CountdownForm
    list_display = ["title", "state_now", "current_phase", "next_deadline", "time_zone"]
    list_filter = [CountdownStateFilter, "time_zone"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [DeadlinePhaseInline, DeadlineExtensionInline]
    change_form_template = "sponsors/admin/countdown_change_form.html"
    fieldsets = [
        (None, {"fields": ["title", "slug", "time_zone"]}),
        (
            "When the last deadline has passed",
            {"fields": ["closed_message", "closed_link_url", "closed_link_label"]},
        ),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch("phases", queryset=DeadlinePhase.objects.order_by("deadline", "pk"))
            )
        )

    def _state(self, obj: Countdown):
        # One state per row and request, computed from the prefetched phases (no query).
        if not hasattr(obj, "_admin_state"):
            obj._admin_state = countdown_state(countdown_snapshot(obj), now=timezone.now())  # type: ignore[attr-defined]  # cached on the row
        return obj._admin_state  # type: ignore[attr-defined]  # cached on the row

    @admin.display(description="state")
    def state_now(self, obj: Countdown) -> str:
        return self._state(obj).state.capitalize()

    @admin.display(description="current phase")
    def current_phase(self, obj: Countdown) -> str:
        return self._state(obj).label or "—"

    @admin.display(description="ends")
    def next_deadline(self, obj: Countdown) -> str:
        state = self._state(obj)
        if state.deadline is None:
            return "—"
        text = format_local(state.deadline, obj.time_zone)
        return f"{text} (extended)" if state.extended else text

    # --- Extend -----------------------------------------------------------------------------

    def has_extend_permission(self, request, obj: Countdown | None = None) -> bool:
        return self.has_change_permission(request, obj) and request.user.has_perm(
            "sponsors.add_deadlineextension"
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/extend/",
                self.admin_site.admin_view(self.extend_view),
                name="sponsors_countdown_extend",
            ),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["can_extend"] = bool(obj and obj.pk and self.has_extend_permission(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def extend_view(self, request, pk: int):
        countdown = get_object_or_404(Countdown, pk=pk)
        if not self.has_extend_permission(request, countdown):
            raise PermissionDenied
        initial = {}
        phase_id = request.GET.get("phase", "")
        if phase_id.isdigit():
            initial["phase"] = int(phase_id)
        else:
            state = countdown_state(countdown_snapshot(countdown), now=timezone.now())
            current = next(
                (p for p in countdown.phases.all() if p.deadline == state.deadline), None
            )
            if current is not None:
                initial["phase"] = current.pk
        form = ExtendDeadlineForm(request.POST or None, countdown=countdown, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                extension = countdown_extend(
                    phase=form.cleaned_data["phase"],
                    new_deadline=form.cleaned_data["new_deadline_utc"],
                    reason=form.cleaned_data["reason"],
                    by=request.user,
                    extended_label=form.cleaned_data["extended_label"] or None,
                )
            except ValidationError as error:
                for field, field_errors in error.error_dict.items():
                    form.add_error(field if field in form.fields else None, field_errors)
            else:
                zone = countdown.time_zone
                self.message_user(
                    request,
                    f"“{extension.phase.display_label}” now ends "
                    f"{format_local(extension.new_deadline, zone)} "
                    f"(was {format_local(extension.old_deadline, zone)}).",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:sponsors_countdown_change", args=[countdown.pk])
                )
        phases = [
            {
                "phase": phase,
                "deadline": format_local(phase.deadline, countdown.time_zone),
                "original": format_local(phase.original_deadline, countdown.time_zone),
                "automatic_label": extended_label_for(phase.label),
            }
            for phase in countdown.phases.order_by("deadline", "pk")
        ]
        history = [
            {
                "row": row,
                "at": format_local(row.created_at, countdown.time_zone),
                "old": format_local(row.old_deadline, countdown.time_zone),
                "new": format_local(row.new_deadline, countdown.time_zone),
            }
            for row in countdown.extensions.order_by("-created_at", "-pk")
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": countdown,
            "countdown": countdown,
            "form": form,
            "phases": phases,
            "history": history,
            "media": self.media + form.media,
            "title": f"Extend a deadline: {countdown.title}",
        }
        return TemplateResponse(request, "sponsors/admin/countdown_extend.html", context)


@admin.register(DeadlineExtension)
class DeadlineExtensionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every extension of every countdown, newest first. Read-only: this is history."""

    list_display = ["created_at", "countdown", "phase_label", "old", "new", "changed_by_name"]
    list_filter = ["countdown"]
    list_select_related = ["countdown"]
    search_fields = ["countdown__title", "phase_label", "reason", "changed_by_name"]
    date_hierarchy = "created_at"
    fields = ["countdown", "phase_label", "old", "new", "reason", "changed_by_name", "created_at"]
    readonly_fields = fields  # type: ignore[assignment]  # names only, no groups

    @admin.display(description="old deadline", ordering="old_deadline")
    def old(self, obj: DeadlineExtension) -> str:
        return format_local(obj.old_deadline, obj.countdown.time_zone)

    @admin.display(description="new deadline", ordering="new_deadline")
    def new(self, obj: DeadlineExtension) -> str:
        return format_local(obj.new_deadline, obj.countdown.time_zone)
