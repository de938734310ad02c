"""Ad-ops admin: sponsors (with their content), disclosure labels, sponsorships, partner logins."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import password_validation
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db import models
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from cms.admin_mixins import AuditHistoryAdminMixin
from sponsors.models import DisclosureLabel, Partner, Sponsor, Sponsorship
from sponsors.sponsorships import partner_create, partner_issue_token, sponsorship_status


def _rendition_url(renditions: dict, name: str = "thumbnail") -> str | None:
    rendition = (renditions or {}).get(name)
    return default_storage.url(rendition["path"]) if isinstance(rendition, dict) else None


def sponsorship_state(sponsorship: Sponsorship, now=None) -> str:
    return sponsorship_status(sponsorship, now=now).label


class SponsorshipInline(admin.TabularInline):
    """The sponsor's content: every article and topic it sponsors, with dates and state."""

    model = Sponsorship
    extra = 0
    fields = ["article", "topic", "label", "starts_at", "ends_at", "state", "article_status"]
    readonly_fields = ["state", "article_status"]
    autocomplete_fields = ["article", "topic"]
    verbose_name_plural = "content (sponsorships)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("sponsor", "article", "topic", "label")

    @admin.display(description="state")
    def state(self, obj: Sponsorship) -> str:
        return sponsorship_state(obj) if obj.pk else "-"

    @admin.display(description="article")
    def article_status(self, obj: Sponsorship) -> str:
        if obj.article is None:
            return "-"
        url = reverse("admin:cms_article_change", args=[obj.article_id])
        state = "live" if obj.article.is_live() else obj.article.get_status_display().lower()
        return format_html('<a href="{}">Open</a> ({})', url, state)


@admin.register(Sponsor)
class SponsorAdmin(AuditHistoryAdminMixin, admin.ModelAdmin):
    list_display = ["logo_thumbnail", "name", "website_link", "is_active", "content_count"]
    list_display_links = ["logo_thumbnail", "name"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug", "description", "contact_email"]
    # Explicit: the annotated (grouped) queryset drops Meta.ordering, and the sponsor pickers
    # of campaigns, sponsorships and partners page through it unordered otherwise.
    ordering = ["name"]
    prepopulated_fields = {"slug": ["name"]}
    fields = [
        "name",
        "slug",
        "logo",
        "logo_preview",
        "description",
        "website_url",
        "contact_email",
        "is_active",
    ]
    readonly_fields = ["logo_preview"]
    inlines = [SponsorshipInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                article_count=Count(
                    "sponsorships", filter=Q(sponsorships__article__isnull=False), distinct=True
                )
            )
        )

    @admin.display(description="logo")
    def logo_thumbnail(self, obj: Sponsor) -> str:
        url = _rendition_url(obj.logo_renditions)
        if not url:
            return "-"
        return format_html(
            '<img src="{}" alt="{} logo" style="max-height:40px;max-width:120px">', url, obj.name
        )

    @admin.display(description="logo preview")
    def logo_preview(self, obj: Sponsor) -> str:
        url = _rendition_url(obj.logo_renditions, "medium")
        if not url:
            return "No logo yet."
        # A checkerboard shows whether the logo's transparency survived the upload.
        return format_html(
            '<img src="{}" alt="{} logo" style="max-height:120px;max-width:360px;'
            'background:repeating-conic-gradient(#ddd 0 25%,#fff 0 50%) 50%/16px 16px">',
            url,
            obj.name,
        )

    @admin.display(description="“Find out more”")
    def website_link(self, obj: Sponsor) -> str:
        if not obj.website_url:
            return "-"
        return format_html(
            '<a href="{}" rel="noopener noreferrer" target="_blank">{}</a>',
            obj.website_url,
            obj.website_url,
        )

    @admin.display(description="sponsored articles", ordering="article_count")
    def content_count(self, obj: Sponsor) -> int:
        return obj.article_count  # type: ignore[attr-defined]  # annotated by get_queryset


@admin.register(DisclosureLabel)
class DisclosureLabelAdmin(admin.ModelAdmin):
    list_display = ["text", "slug", "position", "is_active"]
    list_editable = ["position", "is_active"]
    prepopulated_fields = {"slug": ["text"]}
    search_fields = ["text"]


class SponsorshipStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("live", "Live"), ("upcoming", "Upcoming"), ("ended", "Ended")]

    def queryset(self, request, queryset):
        if self.value() == "live":
            return queryset.live()
        if self.value() == "upcoming":
            return queryset.upcoming()
        if self.value() == "ended":
            return queryset.ended()
        return queryset


@admin.register(Sponsorship)
class SponsorshipAdmin(AuditHistoryAdminMixin, admin.ModelAdmin):
    list_display = ["sponsor", "target", "label", "starts_at", "ends_at", "state"]
    list_filter = [SponsorshipStateFilter, "label", "sponsor"]
    list_select_related = ["sponsor", "label", "article", "topic"]
    search_fields = ["sponsor__name", "article__headline", "topic__name"]
    autocomplete_fields = ["sponsor", "article", "topic"]
    fields = ["sponsor", "label", "article", "topic", "starts_at", "ends_at"]
    date_hierarchy = "created_at"

    @admin.display(description="sponsors")
    def target(self, obj: Sponsorship) -> str:
        if obj.article is not None:
            url = reverse("admin:cms_article_change", args=[obj.article_id])
            return format_html('<a href="{}">{}</a>', url, obj.article.headline)
        return format_html("Topic: {}", obj.topic.name)  # type: ignore[union-attr]  # no article: a topic

    @admin.display(description="state")
    def state(self, obj: Sponsorship) -> str:
        return sponsorship_state(obj)


# ---------------------------------------------------------------------------------------------
# Partner logins


class PartnerCreationForm(forms.ModelForm):
    username = forms.CharField(max_length=150, help_text="The partner's login name.")
    email = forms.EmailField(required=False)
    password = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Needed only for the “Add your own content +” form page; API clients use a "
        "token (issue one after saving).",
    )

    class Meta:
        model = Partner
        fields = ["sponsor"]

    def clean_username(self) -> str:
        username = User.normalize_username(self.cleaned_data["username"])
        User.username_validator(username)
        if User.objects.filter(username__iexact=username).exists():
            raise ValidationError("That username is taken.", code="username_taken")
        return username

    def clean(self):
        cleaned = super().clean()
        password = cleaned.get("password")
        if password:
            try:
                password_validation.validate_password(
                    password, User(username=cleaned.get("username", ""))
                )
            except ValidationError as error:
                self.add_error("password", error)
        return cleaned


class PartnerChangeForm(forms.ModelForm):
    login_active = forms.BooleanField(
        required=False, help_text="Untick to stop this partner from signing in or using its token."
    )

    class Meta:
        model = Partner
        fields = ["sponsor"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["login_active"].initial = self.instance.user.is_active


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    """Ad-ops create partner logins here and issue their API tokens."""

    list_display = ["username", "sponsor", "email", "login_active", "token_issued", "created_at"]
    list_select_related = ["user", "sponsor", "user__auth_token"]
    list_filter = ["sponsor"]
    search_fields = ["user__username", "user__email", "sponsor__name"]
    autocomplete_fields = ["sponsor"]
    actions = ["issue_tokens"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = PartnerChangeForm if obj else PartnerCreationForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["username", "email", "password", "sponsor"]
        return ["account", "sponsor", "login_active", "token", "created_at", "created_by"]

    def get_readonly_fields(self, request, obj=None):
        return ["account", "token", "created_at", "created_by"] if obj else []

    def save_form(self, request, form, change):
        if change:
            return super().save_form(request, form, change)
        try:
            return partner_create(
                username=form.cleaned_data["username"],
                email=form.cleaned_data.get("email", ""),
                password=form.cleaned_data.get("password", ""),
                sponsor=form.cleaned_data["sponsor"],
                created_by=request.user,
            )
        except ValidationError as error:  # a race on the username: never a 500
            raise PermissionDenied(" ".join(error.messages)) from None

    def save_model(self, request, obj, form, change):
        if change:
            obj.save()
            if obj.user.is_active != form.cleaned_data["login_active"]:
                obj.user.is_active = form.cleaned_data["login_active"]
                obj.user.save(update_fields=["is_active"])

    def save_related(self, request, form, formsets, change):
        if change:
            super().save_related(request, form, formsets, change)

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(
            request,
            f"Partner login “{obj.user.username}” created for {obj.sponsor}. Issue its API "
            "token from this page.",
            messages.SUCCESS,
        )
        return redirect("admin:sponsors_partner_change", obj.pk)

    @admin.display(description="username", ordering="user__username")
    def username(self, obj: Partner) -> str:
        return obj.user.username

    @admin.display(description="email")
    def email(self, obj: Partner) -> str:
        return obj.user.email

    @admin.display(description="login active", boolean=True)
    def login_active(self, obj: Partner) -> bool:
        return obj.user.is_active

    @admin.display(description="API token", boolean=True)
    def token_issued(self, obj: Partner) -> bool:
        return hasattr(obj.user, "auth_token")

    @admin.display(description="login")
    def account(self, obj: Partner) -> str:
        groups = ", ".join(group.name for group in obj.user.groups.all()) or "no group"
        return format_html("{} ({})", obj.user.username, groups)

    @admin.display(description="API token")
    def token(self, obj: Partner) -> str:
        token = getattr(obj.user, "auth_token", None)
        url = reverse("admin:sponsors_partner_token", args=[obj.pk])
        status = f"issued {token.created:%Y-%m-%d %H:%M}" if token else "none yet"
        return format_html('{} — <a href="{}">Issue a new API token</a>', status, url)

    @admin.action(
        description="Issue new API tokens (old ones stop working)", permissions=["change"]
    )
    def issue_tokens(self, request, queryset):
        issued = [
            (partner, partner_issue_token(partner=partner))
            for partner in queryset.select_related("user", "sponsor")
        ]
        return self._tokens_page(request, issued)

    def _tokens_page(self, request, issued):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "New API tokens",
            "issued": issued,
        }
        return TemplateResponse(request, "admin/sponsors/partner/tokens.html", context)

    def get_urls(self):
        return [
            path(
                "<int:pk>/token/",
                self.admin_site.admin_view(self.token_view),
                name="sponsors_partner_token",
            ),
            *super().get_urls(),
        ]

    def token_view(self, request, pk: int):
        partner = get_object_or_404(Partner.objects.select_related("user", "sponsor"), pk=pk)
        if not self.has_change_permission(request, partner):
            raise PermissionDenied
        if request.method == "POST":
            return self._tokens_page(request, [(partner, partner_issue_token(partner=partner))])
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Issue a new API token for {partner.user.username}",
            "partner": partner,
            "has_token": hasattr(partner.user, "auth_token"),
        }
        return TemplateResponse(request, "admin/sponsors/partner/token_confirm.html", context)
