"""Ad-ops admin: slots (with the slot preview), campaigns, creatives and delivery counts."""

from __future__ import annotations

from random import Random
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from cms.admin_mixins import ReadOnlyAdminMixin
from cms.images import inspect_image
from cms.models import Article, Topic
from sponsors import ad_ops
from sponsors.counters import get_counters
from sponsors.decision import PageContext, explain_slot
from sponsors.inventory_cache import build_inventory
from sponsors.models import Campaign, Creative, DeliveryCounter, Slot, State, UncountedCounter
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


def _thumbnail(creative: Creative, height: int = 40):
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
        '<img src="{}" alt="{}" style="max-height:{}px;max-width:240px">',
        url,
        creative.alt_text,
        height,
    )


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
class SlotAdmin(admin.ModelAdmin):
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
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Slot preview: what would serve, and why",
            "form": form,
            "explanation": explanation,
            "used": context_used,
        }
        return TemplateResponse(request, "sponsors/slot_preview.html", context)


class SlotPreviewForm(forms.Form):
    slot = forms.ModelChoiceField(queryset=Slot.objects.all())
    topics = forms.ModelMultipleChoiceField(
        queryset=Topic.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The page's topics.",
    )
    article = forms.ModelChoiceField(
        queryset=Article.objects.all(),
        required=False,
        help_text="Optional: an article whose topics are added to those above.",
    )
    at = forms.DateTimeField(
        required=False,
        label="At",
        help_text="A time, e.g. 2026-12-01 09:00 (default: now).",
    )
    viewer = forms.CharField(
        required=False, max_length=64, help_text="Optional viewer id, to check frequency caps."
    )

    def clean_viewer(self):
        viewer = self.cleaned_data.get("viewer", "")
        if viewer and not VIEWER_RE.fullmatch(viewer):
            raise ValidationError("1 to 64 letters, digits, '-' or '_'.")
        return viewer


# ---------------------------------------------------------------------------------------------
# Campaigns


class CreativeInline(admin.TabularInline):
    model = Creative
    extra = 0
    fields = ["preview", "name", "kind", "weight", "is_active"]
    readonly_fields = ["preview", "name", "kind", "weight", "is_active"]
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="creative")
    def preview(self, creative: Creative):
        return _thumbnail(creative, 30)


@admin.register(Campaign)
class CampaignAdmin(PauseResumeActionsMixin, admin.ModelAdmin):
    list_display = [
        "name",
        "sponsor",
        "tier",
        "state",
        "starts_at",
        "ends_at",
        "delivery",
        "pacing",
        "cap",
        "creative_count",
    ]
    list_filter = [StateFilter, "tier", "pacing", "sponsor"]
    list_select_related = ["sponsor"]
    search_fields = ["name", "sponsor__name"]
    autocomplete_fields = ["sponsor"]
    date_hierarchy = "starts_at"
    # Explicit: the annotated (grouped) queryset drops Meta.ordering, and the creatives'
    # campaign picker pages through it unordered otherwise.
    ordering = ["-starts_at", "-pk"]
    actions = ["pause", "resume", "duplicate"]
    inlines = [CreativeInline]
    fieldsets = [
        (None, {"fields": ["sponsor", "name", "tier", "is_active"]}),
        ("Dates", {"fields": [("starts_at", "ends_at")]}),
        ("Delivery", {"fields": ["impression_goal", "pacing"]}),
        ("Frequency cap", {"fields": [("frequency_cap", "frequency_period")]}),
    ]

    def get_queryset(self, request):
        delivered = (
            DeliveryCounter.objects.filter(creative__campaign=OuterRef("pk"))
            .order_by()
            .values("creative__campaign")
            .annotate(total=Sum("impressions"))
            .values("total")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                delivered=Coalesce(Subquery(delivered, output_field=IntegerField()), 0),
                creatives_n=Count("creatives", distinct=True),
            )
        )

    @admin.display(description="state")
    def state(self, campaign: Campaign):
        return _state_badge(campaign.state())

    @admin.display(description="delivered / goal", ordering="delivered")
    def delivery(self, campaign: Campaign) -> str:
        goal = f"{campaign.impression_goal:,}" if campaign.impression_goal else "no goal"
        return f"{campaign.delivered:,} / {goal}"  # type: ignore[attr-defined]  # annotated by get_queryset

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


# ---------------------------------------------------------------------------------------------
# Creatives


class CreativeAdminForm(forms.ModelForm):
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
        widgets = {"slots": forms.CheckboxSelectMultiple}

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        kind = cleaned.get("kind")
        width, height = self.instance.image_width, self.instance.image_height
        upload = cleaned.get("image")
        if isinstance(upload, UploadedFile):  # a new file: measure it before it is saved
            upload.seek(0)
            info = inspect_image(upload.read())
            upload.seek(0)
            width, height = info.width, info.height
        elif not upload:  # none, or cleared
            width = height = None
        ad_ops.check_creative_slots(
            kind=kind, width=width, height=height, slots=list(cleaned.get("slots") or [])
        )
        return cleaned


@admin.register(Creative)
class CreativeAdmin(PauseResumeActionsMixin, admin.ModelAdmin):
    form = CreativeAdminForm
    list_display = [
        "preview",
        "name",
        "campaign",
        "sponsor",
        "kind",
        "state",
        "weight",
        "slot_keys",
        "targeting",
    ]
    list_display_links = ["preview", "name"]
    list_filter = [StateFilter, "kind", "campaign__tier", "slots"]
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

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related("slots", "include_topics", "exclude_topics")
        )

    @admin.display(description="creative")
    def preview(self, creative: Creative):
        return _thumbnail(creative)

    @admin.display(description="preview")
    def image_preview(self, creative: Creative):
        return _thumbnail(creative, 250) if creative.pk else "—"

    @admin.display(description="image size")
    def image_size(self, creative: Creative) -> str:
        if creative.image_width:
            return f"{creative.image_width} x {creative.image_height} px"
        return "—"

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
    list_filter = ["slot", "creative__campaign__tier"]
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
