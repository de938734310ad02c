"""Ad-ops admin: slots (with the slot preview), campaigns (with their pacing, delivery and
creatives inline), creatives and delivery counts."""

from __future__ import annotations

from random import Random
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import (
    AdminSplitDateTime,
    AutocompleteSelect,
    AutocompleteSelectMultiple,
)
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.forms.models import BaseInlineFormSet
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from cms.admin_mixins import (
    AuditHistoryAdminMixin,
    ReadOnlyAdminMixin,
    RefusedFieldKeepsItsReasonMixin,
)
from cms.images import inspect_upload
from cms.models import Article, Topic
from sponsors import ad_ops, pacing, reports
from sponsors.counters import get_counters
from sponsors.decision import CreativeEntry, PageContext, explain_slot
from sponsors.inventory_cache import build_inventory
from sponsors.models import (
    Campaign,
    Creative,
    DeliveryCounter,
    Reason,
    Slot,
    Sponsorship,
    State,
    UncountedCounter,
)
from sponsors.querysets import campaign_live_q
from sponsors.tracking import VIEWER_RE


class StateFilter(admin.SimpleListFilter):
    """Live / scheduled / ended / paused, decided by the clock like the decision does."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return State.choices

    def queryset(self, request, queryset):
        value = self.value()
        if value == State.LIVE:
            return queryset.live()
        if value == State.SCHEDULED:
            return queryset.scheduled()
        if value == State.ENDED:
            return queryset.ended()
        if value == State.PAUSED:
            return queryset.paused()
        return queryset


def _state_badge(state: State):
    colors = {
        State.LIVE: "#1a7f37",
        State.SCHEDULED: "#0969da",
        State.ENDED: "#6e7781",
        State.PAUSED: "#bf8700",
    }
    return format_html('<strong style="color:{}">{}</strong>', colors[state], state.label)


def _thumbnail(creative: Creative, height: int = 40, width: int = 240):
    if creative.kind == Creative.Kind.TEXT:
        return format_html(
            '<span title="{}">“{}” [{}]</span>',
            creative.body,
            creative.headline,
            creative.cta_label,
        )
    thumb = (creative.image_renditions or {}).get("thumbnail") or {}
    if not creative.image:
        return "no image"
    url = creative.image.storage.url(thumb["path"]) if thumb else creative.image.url
    return format_html(
        '<img src="{}" alt="{}" style="max-height:{}px;max-width:{}px">',
        url,
        creative.alt_text,
        height,
        width,
    )


def _entry_thumbnail(entry: CreativeEntry, height: int = 40) -> SafeString:
    """The slot preview's picture of a creative, from the snapshot the decision read."""
    payload = entry.payload
    if payload.get("text"):
        text = payload["text"]
        return format_html(
            '<span title="{}">“{}” [{}]</span>', text["body"], text["headline"], text["cta_label"]
        )
    image = payload.get("image") or {}
    renditions = {name: url for name, url, _, _ in image.get("renditions", [])}
    url = renditions.get("thumbnail") or next(iter(renditions.values()), None)
    if url is None:
        return format_html("{}", "no image")
    return format_html(
        '<img src="{}" alt="{}" style="max-height:{}px;max-width:160px">',
        url,
        image.get("alt", ""),
        height,
    )


# ---------------------------------------------------------------------------------------------
# Slot choices name each slot's size and kinds, wherever a slot is chosen


def slot_label(slot: Slot) -> str:
    """E.g. "Leaderboard (leaderboard) — 728 x 90, image"."""
    return f"{slot} — {slot.size_label}, {' or '.join(slot.accepted_kinds)}"


class SlotChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return slot_label(obj)


class SlotMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return slot_label(obj)


class SlotListFilter(admin.RelatedFieldListFilter):
    """The list filter of a relation to slots, its choices labelled with their sizes."""

    def field_choices(self, field, request, model_admin):
        return [(slot.pk, slot_label(slot)) for slot in Slot.objects.order_by("key")]


# ---------------------------------------------------------------------------------------------
# Pacing figures, as the campaign list and the campaign page show them

PACING_COLORS = {
    pacing.ON_TRACK: "#1a7f37",
    pacing.GOAL_REACHED: "#1a7f37",
    pacing.AHEAD: "#0969da",
    pacing.BEHIND: "#cf222e",
    pacing.UNDER_DELIVERED: "#cf222e",
    pacing.NOT_STARTED: "#6e7781",
    pacing.NO_END_DATE: "#6e7781",
}


def _pacing_badge(result: pacing.Pacing | None) -> SafeString:
    if result is None:
        return format_html("{}", "no goal")
    # White on a dark colour: readable in the admin's light and dark themes alike.
    return format_html(
        '<span class="pacing-badge pacing-{}" style="background:{};color:#fff;'
        'padding:1px 7px;border-radius:9px">{}</span>',
        result.status,
        PACING_COLORS[result.status],
        result.label,
    )


def _count(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} %"


def pacing_figures(result: pacing.Pacing) -> list[tuple[str, str]]:
    """The pacing columns, in the order and words of the campaign list."""
    return [
        ("delivered", _count(result.delivered)),
        ("goal", _count(result.goal)),
        ("expected by now", _count(result.expected)),
        ("% of pace", _percent(result.percent_of_pace)),
        ("projected at end", _count(result.projected)),
    ]


class PauseResumeActionsMixin:
    """The "Pause selected …" and "Resume selected …" actions of campaigns and creatives.

    They call the same service as the staff API's ``pause/`` and ``resume/``.
    """

    @admin.action(description="Pause selected %(verbose_name_plural)s", permissions=["change"])
    def pause(self, request, queryset):
        self._set_active(request, queryset, active=False)

    @admin.action(description="Resume selected %(verbose_name_plural)s", permissions=["change"])
    def resume(self, request, queryset):
        self._set_active(request, queryset, active=True)

    message_user: Any  # given by the ModelAdmin it is mixed into
    opts: Any

    def _set_active(self, request, queryset, *, active: bool) -> None:
        changed = ad_ops.inventory_set_active(rows=queryset, active=active)
        done = "resumed" if active else "paused"
        self.message_user(
            request, f"{changed} {self.opts.verbose_name}(s) {done}.", messages.SUCCESS
        )


# ---------------------------------------------------------------------------------------------
# Slots


class SlotAdminForm(forms.ModelForm):
    class Meta:
        model = Slot
        fields = [
            "key",
            "name",
            "width",
            "height",
            "accepts_image",
            "accepts_text",
            "house_creative",
            "is_active",
        ]

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and not self.errors:
            creatives = list(self.instance.creatives.all())
            probe = Slot(
                key=cleaned.get("key") or self.instance.key,
                width=cleaned.get("width"),
                height=cleaned.get("height"),
                accepts_image=cleaned.get("accepts_image", False),
                accepts_text=cleaned.get("accepts_text", False),
            )
            ad_ops.check_slot_keeps_creatives(slot=probe, creatives=creatives)
        return cleaned


@admin.register(Slot)
class SlotAdmin(AuditHistoryAdminMixin, admin.ModelAdmin):
    form = SlotAdminForm
    list_display = ["key", "name", "size", "kinds", "house_creative", "live_creatives", "preview"]
    list_select_related = ["house_creative"]
    list_filter = ["is_active", "accepts_image", "accepts_text"]
    search_fields = ["key", "name"]
    autocomplete_fields = ["house_creative"]
    fields = [
        "key",
        "name",
        ("width", "height"),
        ("accepts_image", "accepts_text"),
        "house_creative",
        "is_active",
    ]

    def get_queryset(self, request):
        now = timezone.now()
        live = Q(creatives__is_active=True) & campaign_live_q(now, "creatives__campaign__")
        return super().get_queryset(request).annotate(live_count=Count("creatives", filter=live))

    @admin.display(description="size")
    def size(self, slot: Slot) -> str:
        return slot.size_label

    @admin.display(description="accepts")
    def kinds(self, slot: Slot) -> str:
        return ", ".join(Creative.Kind(kind).label for kind in slot.accepted_kinds)

    @admin.display(description="live creatives", ordering="live_count")
    def live_creatives(self, slot: Slot) -> int:
        return slot.live_count  # type: ignore[attr-defined]  # annotated by get_queryset

    @admin.display(description="preview")
    def preview(self, slot: Slot):
        url = reverse("admin:sponsors_slot_preview") + f"?slot={slot.pk}"
        return format_html('<a href="{}">What would serve?</a>', url)

    def get_urls(self):
        return [
            path(
                "preview/",
                self.admin_site.admin_view(self.preview_view),
                name="sponsors_slot_preview",
            ),
            *super().get_urls(),
        ]

    def preview_view(self, request):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        form = SlotPreviewForm(request.GET or None)
        explanation = None
        context_used = None
        if form.is_valid():
            data = form.cleaned_data
            topics = [t.slug for t in data["topics"]]
            article = data.get("article")
            if article is not None:
                topics += [t.slug for t in article.topics.all() if t.slug not in topics]
            at = data.get("at") or timezone.now()
            slot = data["slot"]
            context_used = PageContext(
                topics=tuple(topics),
                article=article.slug if article else "",
                viewer=data.get("viewer") or None,
            )
            explanation = explain_slot(
                build_inventory(at=at, preview=True, slot_keys=[slot.key]),
                slot.key,
                context_used,
                now=at,
                counters=get_counters(),
                rng=Random(),
            )
            context_used = {"topics": topics, "at": at, "viewer": context_used.viewer}
        verdicts = [
            (verdict, _entry_thumbnail(verdict.creative, 60))
            for verdict in (explanation.verdicts if explanation else [])
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Slot preview: what would serve, and why",
            "form": form,
            "media": self.media + form.media,
            "explanation": explanation,
            "verdicts": verdicts,
            "used": context_used,
        }
        return TemplateResponse(request, "sponsors/slot_preview.html", context)


class SlotPreviewForm(forms.Form):
    slot = SlotChoiceField(queryset=Slot.objects.all())
    topics = forms.ModelMultipleChoiceField(
        queryset=Topic.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The page's topics.",
    )
    article = forms.ModelChoiceField(
        queryset=Article.objects.all(),
        required=False,
        # Searched like the article of a sponsorship: the admin's autocomplete names the
        # search by a relation to articles, and asks the article admin (its search fields,
        # its view permission).
        widget=AutocompleteSelect(Sponsorship._meta.get_field("article"), admin.site),
        help_text="Optional: type to search articles; its topics are added to those above.",
    )
    at = forms.SplitDateTimeField(
        required=False,
        label="At",
        widget=AdminSplitDateTime,
        help_text="Default: now.",
    )
    viewer = forms.CharField(
        required=False, max_length=64, help_text="Optional viewer id, to check frequency caps."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        zone = timezone.get_current_timezone_name()
        self.fields["at"].help_text = f"In {zone}. Empty: now."
        # Each half says what it is to screen readers too (the widget writes plain text).
        date, time = self.fields["at"].widget.widgets
        date.attrs["aria-label"] = "Date"
        time.attrs["aria-label"] = "Time"

    def clean_viewer(self):
        viewer = self.cleaned_data.get("viewer", "")
        if viewer and not VIEWER_RE.fullmatch(viewer):
            raise ValidationError("1 to 64 letters, digits, '-' or '_'.")
        return viewer


# ---------------------------------------------------------------------------------------------
# Creatives: the form, shared by the creative's own page and the campaign page's inline


class CreativeAdminForm(RefusedFieldKeepsItsReasonMixin, forms.ModelForm):
    click_url = forms.URLField(
        label="Click-through URL",
        max_length=1000,
        assume_scheme="https",
        help_text=Creative._meta.get_field("click_url").help_text,
    )

    class Meta:
        model = Creative
        fields = [
            "campaign",
            "name",
            "kind",
            "is_active",
            "weight",
            "click_url",
            "image",
            "alt_text",
            "headline",
            "body",
            "cta_label",
            "countdown",
            "when_countdown_closes",
            "slots",
            "include_topics",
            "exclude_topics",
        ]
        field_classes = {"slots": SlotMultipleChoiceField}
        widgets = {"slots": forms.CheckboxSelectMultiple}

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        kind = cleaned.get("kind")
        width, height = self.instance.image_width, self.instance.image_height
        upload = cleaned.get("image")
        if isinstance(upload, UploadedFile):  # a new file: measure it before it is saved
            info = inspect_upload(upload)
            width, height = info.width, info.height
        elif not upload:  # none, or cleared
            width = height = None
        ad_ops.check_creative_slots(
            kind=kind, width=width, height=height, slots=list(cleaned.get("slots") or [])
        )
        return cleaned


class CreativePreviewMixin:
    """The image preview and size beside a creative's fields (its page and the inline)."""

    @admin.display(description="preview")
    def image_preview(self, creative: Creative):
        return _thumbnail(creative, 250) if creative.pk else "—"

    @admin.display(description="image size")
    def image_size(self, creative: Creative) -> str:
        if creative.image_width:
            return f"{creative.image_width} x {creative.image_height} px"
        return "—"


# ---------------------------------------------------------------------------------------------
# Campaigns


def _preloaded_options(widget: Any, name: str, value: list[str]) -> list[Any] | None:
    """The selected options of an autocomplete widget, labelled from ``widget.preloaded``
    (what the row already holds), or None when something else is selected."""
    preloaded = getattr(widget, "preloaded", None)
    selected = {str(v) for v in value if str(v) not in widget.choices.field.empty_values}
    if preloaded is None or not selected <= preloaded.keys():
        return None
    options = []
    if not widget.is_required and not widget.allow_multiple_selected:
        options.append(widget.create_option(name, "", "", False, 0))
    for pk in sorted(selected, key=preloaded.__getitem__):
        options.append(widget.create_option(name, pk, preloaded[pk], True, len(options)))
    return [(None, options, 0)]


class PreloadedAutocompleteSelect(AutocompleteSelect):
    """The admin's autocomplete, showing what is selected without a query when the row
    already holds it (see :class:`CreativeInlineFormSet`)."""

    preloaded: dict[str, str] | None = None

    def optgroups(self, name, value, attr=None):
        found = _preloaded_options(self, name, value)
        return super().optgroups(name, value, attr) if found is None else found


class PreloadedAutocompleteSelectMultiple(AutocompleteSelectMultiple):
    preloaded: dict[str, str] | None = None

    def optgroups(self, name, value, attr=None):
        found = _preloaded_options(self, name, value)
        return super().optgroups(name, value, attr) if found is None else found


class SlotCheckboxesMixin:
    """Slots are ticked from a list: no "add another slot" icon, which lands on the list."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "slots" and field is not None:
            for name in ("can_add_related", "can_change_related", "can_view_related"):
                if hasattr(field.widget, name):
                    setattr(field.widget, name, False)
        return field


class CreativeInlineFormSet(BaseInlineFormSet):
    """The campaign page's creative forms, rendered in a number of queries that does not grow
    with the creatives: the slot choices are read once, and the selected topics and countdown
    are labelled from what the inline's queryset loaded with each creative."""

    def _construct_form(self, i, **kwargs):
        return self._preload(super()._construct_form(i, **kwargs))

    @property
    def empty_form(self):
        return self._preload(super().empty_form)

    @cached_property
    def slot_choices(self) -> list[tuple[int, str]]:
        return [(slot.pk, slot_label(slot)) for slot in Slot.objects.all()]

    def _preload(self, form: forms.ModelForm) -> forms.ModelForm:
        fields = form.fields
        if "slots" in fields:
            fields["slots"].choices = self.slot_choices  # type: ignore[attr-defined]  # a choice field
        creative = form.instance
        saved = creative.pk is not None  # then its relations are prefetched
        countdown = creative.countdown if saved and creative.countdown_id else None
        loaded: dict[str, list[Any]] = {
            "include_topics": list(creative.include_topics.all()) if saved else [],
            "exclude_topics": list(creative.exclude_topics.all()) if saved else [],
            "countdown": [countdown] if countdown is not None else [],
        }
        for name, rows in loaded.items():
            if name in fields:
                widget: Any = fields[name].widget
                widget = getattr(widget, "widget", widget)  # inside the related-object links
                widget.preloaded = {str(row.pk): str(row) for row in rows}
        return form


class CreativeInline(SlotCheckboxesMixin, CreativePreviewMixin, admin.StackedInline):
    """The campaign's creatives, edited on its page under the rules of the creative's own
    form (slot fit, image size, kinds); saving them bumps the inventory like any save."""

    model = Creative
    form = CreativeAdminForm
    formset = CreativeInlineFormSet
    extra = 0
    show_change_link = True
    autocomplete_fields = ["include_topics", "exclude_topics", "countdown"]
    readonly_fields = ["image_preview", "image_size"]
    fieldsets = [
        (None, {"fields": [("name", "kind"), ("is_active", "weight"), "click_url"]}),
        ("Image banner", {"fields": [("image", "image_preview", "image_size"), "alt_text"]}),
        (
            "Text promo strip",
            {"fields": ["headline", "body", "cta_label", ("countdown", "when_countdown_closes")]},
        ),
        ("Where it shows", {"fields": ["slots", "include_topics", "exclude_topics"]}),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("countdown")
            .prefetch_related("slots", "include_topics", "exclude_topics")
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in self.autocomplete_fields:
            kwargs["widget"] = PreloadedAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name in self.autocomplete_fields:
            kwargs["widget"] = PreloadedAutocompleteSelectMultiple(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class PacingStatusFilter(admin.SimpleListFilter):
    """Campaigns by where they stand against their goal, as the pacing column says."""

    title = "pacing status"
    parameter_name = "pacing_status"
    NO_GOAL = "no_goal"

    def lookups(self, request, model_admin):
        return [*pacing.STATUS_LABELS.items(), (self.NO_GOAL, "no goal")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == self.NO_GOAL:
            return queryset.filter(impression_goal__isnull=True)
        if value not in pacing.STATUSES:
            return queryset
        # Decided by the pacing service like the column (one query over the campaigns with a
        # goal), rather than said again in SQL.
        with_goal = Campaign.objects.filter(impression_goal__isnull=False).only(
            "pk", "impression_goal", "starts_at", "ends_at"
        )
        found = pacing.pacing_by_campaign(pacing.with_delivered(with_goal))
        return queryset.filter(pk__in=[pk for pk, p in found.items() if p.status == value])


def _delivery_totals(totals: reports.Counts) -> list[tuple[str, str]]:
    others = sum(
        n
        for by_reason in totals["uncounted"].values()
        for reason, n in by_reason.items()
        if reason != Reason.BOT
    )
    return [
        ("impressions", _count(totals["impressions"])),
        ("clicks", _count(totals["clicks"])),
        ("CTR", f"{totals['ctr'] * 100:.2f} %"),
        ("bot impressions (not counted)", _count(totals["bot_impressions"])),
        ("bot clicks (not counted)", _count(totals["bot_clicks"])),
        ("other events not counted", _count(others)),
    ]


def _full_report_url(campaign: Campaign) -> str | None:
    try:
        url = reverse("admin:sponsors_delivery_report")
    except NoReverseMatch:  # the report page is not installed: the campaign page links nowhere
        return None
    return f"{url}?{urlencode({'campaign': campaign.pk, 'group_by': 'day'})}"


@admin.register(Campaign)
class CampaignAdmin(AuditHistoryAdminMixin, PauseResumeActionsMixin, admin.ModelAdmin):
    list_display = [
        "name",
        "sponsor_name",
        "tier",
        "state",
        "dates",
        "delivered_count",
        "goal",
        "expected_by_now",
        "pace_percent",
        "projected",
        "pacing_status",
        "cap",
        "creative_count",
    ]
    list_filter = [StateFilter, PacingStatusFilter, "tier", "pacing", "sponsor"]
    list_select_related = ["sponsor"]
    search_fields = ["name", "sponsor__name"]
    autocomplete_fields = ["sponsor"]
    date_hierarchy = "starts_at"
    # Explicit: the annotated (grouped) queryset drops Meta.ordering, and the creatives'
    # campaign picker pages through it unordered otherwise.
    ordering = ["-starts_at", "-pk"]
    actions = ["pause", "resume", "duplicate"]
    inlines = [CreativeInline]
    change_form_template = "admin/sponsors/campaign/change_form.html"
    fieldsets = [
        (None, {"fields": ["sponsor", "name", "tier", "is_active"]}),
        ("Dates", {"fields": [("starts_at", "ends_at")]}),
        ("Delivery", {"fields": ["impression_goal", "pacing"]}),
        ("Frequency cap", {"fields": [("frequency_cap", "frequency_period")]}),
    ]

    class Media:
        css = {"all": ["sponsors/admin/inventory.css"]}

    def get_queryset(self, request):
        # Delivered and the creative count: one subquery and one join, so a page of any
        # length is one query.
        return pacing.with_delivered(super().get_queryset(request)).annotate(
            creatives_n=Count("creatives", distinct=True)
        )

    def _pacing(self, campaign: Campaign) -> pacing.Pacing | None:
        # Once per row and request, from the annotated delivered count (no query).
        if not hasattr(campaign, "_admin_pacing"):
            campaign._admin_pacing = pacing.campaign_pacing(campaign)  # type: ignore[attr-defined]  # cached on the row
        return campaign._admin_pacing  # type: ignore[attr-defined]  # cached on the row

    def _figure(self, campaign: Campaign, name: str) -> str:
        result = self._pacing(campaign)
        return "—" if result is None else dict(pacing_figures(result))[name]

    # A method, not the relation: Django keeps a relation's cell on one line.
    @admin.display(description="sponsor", ordering="sponsor__name")
    def sponsor_name(self, campaign: Campaign) -> str:
        return campaign.sponsor.name

    @admin.display(description="state")
    def state(self, campaign: Campaign):
        return _state_badge(campaign.state())

    @admin.display(description="dates", ordering="starts_at")
    def dates(self, campaign: Campaign) -> str:
        def local(moment):
            return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")

        ends = local(campaign.ends_at) if campaign.ends_at else "open-ended"
        return f"{local(campaign.starts_at)} – {ends}"

    @admin.display(description="delivered", ordering="delivered")
    def delivered_count(self, campaign: Campaign) -> str:
        return _count(campaign.delivered)  # type: ignore[attr-defined]  # annotated by get_queryset

    @admin.display(description="goal", ordering="impression_goal")
    def goal(self, campaign: Campaign) -> str:
        return _count(campaign.impression_goal)

    @admin.display(description="expected by now")
    def expected_by_now(self, campaign: Campaign) -> str:
        return self._figure(campaign, "expected by now")

    @admin.display(description="% of pace")
    def pace_percent(self, campaign: Campaign) -> str:
        return self._figure(campaign, "% of pace")

    @admin.display(description="projected at end")
    def projected(self, campaign: Campaign) -> str:
        return self._figure(campaign, "projected at end")

    @admin.display(description="pacing")
    def pacing_status(self, campaign: Campaign):
        return _pacing_badge(self._pacing(campaign))

    @admin.display(description="frequency cap")
    def cap(self, campaign: Campaign) -> str:
        if not campaign.frequency_cap:
            return "—"
        return f"{campaign.frequency_cap} {campaign.get_frequency_period_display()}"

    @admin.display(description="creatives", ordering="creatives_n")
    def creative_count(self, campaign: Campaign) -> int:
        return campaign.creatives_n  # type: ignore[attr-defined]  # annotated by get_queryset

    @admin.action(description="Duplicate (the copies start paused)", permissions=["add"])
    def duplicate(self, request, queryset):
        copies = [ad_ops.campaign_duplicate(campaign=c) for c in queryset]
        self.message_user(
            request,
            f"{len(copies)} campaign(s) duplicated, paused: " + ", ".join(c.name for c in copies),
            messages.SUCCESS,
        )

    # --- The campaign page: pacing, delivery totals and chart above the form --------------

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk:
            context.update(self.delivery_context(obj.pk))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def delivery_context(self, pk: int) -> dict[str, Any]:
        # The campaign as stored (a form with errors holds what was typed), with its
        # delivered count: one query, and four for its report.
        campaign = pacing.with_delivered(Campaign.objects.filter(pk=pk)).get()
        now = timezone.now()
        result = pacing.campaign_pacing(campaign, now)
        report = reports.campaign_report(campaign=campaign, now=now)
        return {
            "pacing_figures": pacing_figures(result) if result else None,
            "pacing_badge": _pacing_badge(result),
            "delivered": _count(campaign.delivered),  # type: ignore[attr-defined]  # annotated
            "delivery": report,
            "delivery_totals": _delivery_totals(report["totals"]) if report else None,
            "delivery_chart": reports.chart_series(report) if report else None,
            "full_report_url": _full_report_url(campaign),
        }


# ---------------------------------------------------------------------------------------------
# Creatives


@admin.register(Creative)
class CreativeAdmin(
    AuditHistoryAdminMixin,
    SlotCheckboxesMixin,
    CreativePreviewMixin,
    PauseResumeActionsMixin,
    admin.ModelAdmin,
):
    form = CreativeAdminForm
    list_display = [
        "preview",
        "name",
        "campaign_name",
        "sponsor",
        "kind",
        "state",
        "weight",
        "slot_keys",
        "targeting",
    ]
    list_display_links = ["preview", "name"]
    list_filter = [StateFilter, "kind", "campaign__tier", ("slots", SlotListFilter)]
    list_select_related = ["campaign__sponsor"]
    search_fields = ["name", "headline", "campaign__name", "campaign__sponsor__name"]
    autocomplete_fields = ["campaign", "include_topics", "exclude_topics", "countdown"]
    actions = ["pause", "resume"]
    readonly_fields = ["image_preview", "image_size"]
    fieldsets = [
        (None, {"fields": ["campaign", "name", "kind", "is_active", "weight", "click_url"]}),
        ("Image banner", {"fields": ["image", "image_preview", "image_size", "alt_text"]}),
        (
            "Text promo strip",
            {"fields": ["headline", "body", "cta_label", "countdown", "when_countdown_closes"]},
        ),
        ("Where it shows", {"fields": ["slots", "include_topics", "exclude_topics"]}),
    ]

    class Media:
        css = {"all": ["sponsors/admin/inventory.css"]}

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related("slots", "include_topics", "exclude_topics")
        )

    @admin.display(description="creative")
    def preview(self, creative: Creative):
        return _thumbnail(creative, width=160)

    # A method, not the relation: Django keeps a relation's cell on one line.
    @admin.display(description="campaign", ordering="campaign__name")
    def campaign_name(self, creative: Creative) -> str:
        return creative.campaign.name

    @admin.display(description="sponsor", ordering="campaign__sponsor__name")
    def sponsor(self, creative: Creative) -> str:
        return creative.campaign.sponsor.name

    @admin.display(description="state")
    def state(self, creative: Creative):
        return _state_badge(creative.state())

    @admin.display(description="slots")
    def slot_keys(self, creative: Creative) -> str:
        return ", ".join(slot.key for slot in creative.slots.all()) or "—"

    @admin.display(description="targeting")
    def targeting(self, creative: Creative):
        include = [t.name for t in creative.include_topics.all()]
        exclude = [t.name for t in creative.exclude_topics.all()]
        parts = []
        if include:
            parts.append(("only", ", ".join(include)))
        if exclude:
            parts.append(("not", ", ".join(exclude)))
        if not parts:
            return "everywhere"
        return format_html_join("; ", "{} {}", parts)


@admin.register(DeliveryCounter)
class DeliveryCounterAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: counts are written by tracking and the flush command only."""

    list_display = [
        "hour",
        "creative",
        "campaign",
        "slot",
        "impressions",
        "clicks",
        "uncounted_impressions",
        "uncounted_clicks",
    ]
    list_select_related = ["creative__campaign", "slot"]
    list_filter = [("slot", SlotListFilter), "creative__campaign__tier"]
    search_fields = ["creative__name", "creative__campaign__name"]
    date_hierarchy = "hour"

    def get_queryset(self, request):
        # Beside each row, the events of the same hour, creative and slot counted apart
        # (replayed, bots, …): one subquery each, not a query per row.
        def apart(event: str) -> Coalesce:
            rows = UncountedCounter.objects.filter(
                hour=OuterRef("hour"),
                creative_id=OuterRef("creative_id"),
                slot_id=OuterRef("slot_id"),
                event=event,
            )
            total = rows.order_by().values("event").annotate(n=Sum("count")).values("n")
            return Coalesce(Subquery(total, output_field=IntegerField()), 0)

        return (
            super()
            .get_queryset(request)
            .annotate(apart_impressions=apart("impression"), apart_clicks=apart("click"))
        )

    @admin.display(description="campaign", ordering="creative__campaign__name")
    def campaign(self, counter: DeliveryCounter) -> str:
        return counter.creative.campaign.name

    @admin.display(description="impressions apart", ordering="apart_impressions")
    def uncounted_impressions(self, counter: DeliveryCounter) -> int:
        return counter.apart_impressions  # type: ignore[attr-defined]  # annotated above

    @admin.display(description="clicks apart", ordering="apart_clicks")
    def uncounted_clicks(self, counter: DeliveryCounter) -> int:
        return counter.apart_clicks  # type: ignore[attr-defined]  # annotated above


@admin.register(UncountedCounter)
class UncountedCounterAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: every event answered but not counted, by reason (never billed)."""

    list_display = ["hour", "event", "reason", "creative", "slot", "article", "count"]
    list_filter = ["event", "reason"]
    date_hierarchy = "hour"

    # Plain ids (what an event named may no longer exist): shown as numbers, "—" for none.
    @admin.display(description="creative id", ordering="creative_id")
    def creative(self, counter: UncountedCounter) -> str:
        return str(counter.creative_id or "—")

    @admin.display(description="slot id", ordering="slot_id")
    def slot(self, counter: UncountedCounter) -> str:
        return str(counter.slot_id or "—")

    @admin.display(description="article id", ordering="article_id")
    def article(self, counter: UncountedCounter) -> str:
        return str(counter.article_id or "—")
