"""Editors' admin: articles with a body-block editor, topics and authors."""

from __future__ import annotations

from adminsortable2.admin import SortableAdminBase, SortableStackedInline
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django_prose_editor.fields import ProseEditorFormField
from django_prose_editor.widgets import AdminProseEditorWidget

from cms import services
from cms.admin_mixins import AuditHistoryAdminMixin, RefusedFieldKeepsItsReasonMixin
from cms.models import Article, ArticleBlock, ArticleTopic, Author, Topic
from cms.sanitize import URL_SCHEMES, rich_text_from_editor
from sponsors.sponsorships import (
    display_sponsorship,
    require_partner_sponsorship,
)

admin.site.site_header = "Sponsored content"
admin.site.site_title = "Sponsored content admin"
admin.site.index_title = "Editorial and ad operations"
# Wide lists (articles, creatives) need the whole width more than a second menu.
admin.site.enable_nav_sidebar = False


class ArticleTopicInline(admin.TabularInline):
    model = ArticleTopic
    extra = 0
    autocomplete_fields = ["topic"]
    fields = ["topic", "position"]
    verbose_name_plural = "topics (the first is the main topic, used for “More from”)"


# What the rich-text editor offers is exactly what cms.sanitize keeps: bold, italics, links
# (http, https, mailto) and line breaks; no headings, lists, images or raw HTML.
PROSE_EDITOR_EXTENSIONS = {
    "Bold": True,
    "Italic": True,
    "Link": {"enableTarget": False, "protocols": sorted(URL_SCHEMES)},
    "HardBreak": True,
}
RICH_TEXT_KINDS = (ArticleBlock.Kind.PARAGRAPH, ArticleBlock.Kind.QUOTE)


class ArticleBlockForm(RefusedFieldKeepsItsReasonMixin, forms.ModelForm):
    """A body block: paragraphs and quotes are written in the rich-text editor, headings and
    lists in the plain text box (the script shows the one the block's kind uses)."""

    rich_text = ProseEditorFormField(
        label="Text",
        required=False,
        extensions=PROSE_EDITOR_EXTENSIONS,
        widget=AdminProseEditorWidget,
        sanitize=rich_text_from_editor,
        help_text="Bold, italics and links are kept.",
    )

    class Meta:
        model = ArticleBlock
        fields = ["position", "kind", "text", "attribution", "image", "caption", "alt_text"]
        help_texts = {"text": "The heading's text, or for a bulleted list one item per line."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.kind in RICH_TEXT_KINDS:
            self.fields["rich_text"].initial = self.instance.text

    def clean(self):
        cleaned = super().clean()
        # The editor's text wins for the kinds it edits; a client that sends only ``text``
        # (no editor field at all) keeps it. Either way the model cleans it with nh3 on save.
        if cleaned.get("kind") in RICH_TEXT_KINDS and self.add_prefix("rich_text") in self.data:
            cleaned["text"] = cleaned.get("rich_text", "")
        return cleaned


class ArticleBlockInline(SortableStackedInline):
    model = ArticleBlock
    form = ArticleBlockForm
    extra = 0
    # sortable2 keeps ``position`` as a hidden input and renumbers it when blocks are dragged.
    fields = ["kind", "rich_text", "text", "attribution", "image", "caption", "alt_text"]
    verbose_name_plural = "body (drag a block by its title bar to move it)"

    class Media:
        js = ["cms/admin/body-blocks.js"]


class TopicListFilter(admin.SimpleListFilter):
    title = "topic"
    parameter_name = "topic"

    def lookups(self, request, model_admin):
        return Topic.objects.values_list("slug", "name")

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(topics__slug=self.value()).distinct()
        return queryset


class ArticleAdminForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        # Partner content goes public only with a live sponsorship of its own; checked when
        # the article's kind, state or time changes (not on every typo fix afterwards).
        article = self.instance
        after = (
            cleaned.get("kind", article.kind),
            cleaned.get("status", article.status),
            cleaned.get("published_at", article.published_at),
        )
        before = (article.kind, article.status, article.published_at) if article.pk else None
        if before != after:
            try:
                require_partner_sponsorship(
                    article=article, kind=after[0], status=after[1], published_at=after[2]
                )
            except ValidationError as error:
                self.add_error("status", error)
        return cleaned


@admin.register(Article)
class ArticleAdmin(AuditHistoryAdminMixin, SortableAdminBase, admin.ModelAdmin):
    form = ArticleAdminForm
    list_display = [
        "headline",
        "state",
        "kind",
        "author",
        "topic_names",
        "published_at",
        "reading_minutes",
        "preview_link",
    ]
    list_filter = ["status", "kind", TopicListFilter, "author"]
    list_select_related = ["author"]
    search_fields = ["headline", "standfirst", "slug"]
    date_hierarchy = "published_at"
    prepopulated_fields = {"slug": ["headline"]}
    autocomplete_fields = ["author"]
    readonly_fields = [
        "reading_minutes",
        "preview_link",
        "sponsor_block",
        "created_at",
        "updated_at",
    ]
    inlines = [ArticleTopicInline, ArticleBlockInline]
    actions = ["publish_now", "archive"]
    view_on_site = False  # the preview link shows the page; the public URL is the API's
    formfield_overrides = {
        models.CharField: {"widget": forms.TextInput(attrs={"class": "vLargeTextField"})}
    }
    fieldsets = [
        (None, {"fields": ["headline", "slug", "standfirst", "kind", "author"]}),
        ("Publication", {"fields": ["status", "published_at", "preview_link", "sponsor_block"]}),
        ("Hero image", {"fields": ["hero_image", "hero_caption", "hero_alt"]}),
        ("Facts", {"fields": ["reading_minutes", "created_at", "updated_at"]}),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch("article_topics", queryset=ArticleTopic.objects.select_related("topic"))
            )
        )

    def _slug_is_fixed(self, obj: Article | None) -> bool:
        # Once readers could see the article, its address must not change under them.
        return bool(obj and obj.published_at and obj.published_at <= timezone.now())

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "slug"] if self._slug_is_fixed(obj) else fields

    def get_prepopulated_fields(self, request, obj=None):
        return {} if self._slug_is_fixed(obj) else super().get_prepopulated_fields(request, obj)

    def get_object(self, request, object_id, from_field=None):
        article = super().get_object(request, object_id, from_field)
        if article is not None:
            # The sponsor block offers "Add a sponsorship" only to who may add one (ad ops):
            # a link that answers 403 is no help to an editor.
            article.may_add_sponsorship = request.user.has_perm("sponsors.add_sponsorship")
        return article

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        form.instance.refresh_reading_time()

    @admin.display(description="state", ordering="status")
    def state(self, obj: Article) -> str:
        if obj.is_live():
            return "Live"
        if obj.status in (Article.Status.SCHEDULED, Article.Status.PUBLISHED):
            return "Scheduled"
        return obj.get_status_display()

    @admin.display(description="topics")
    def topic_names(self, obj: Article) -> str:
        return ", ".join(link.topic.name for link in obj.article_topics.all())

    @admin.display(description="preview")
    def preview_link(self, obj: Article) -> str:
        # The reference article page as it will look at go-live (now, if that has passed or
        # is not set): with its ads, the promo strip and the sponsor block of that moment.
        if not obj.pk:
            return "Save the article to preview it."
        url = reverse("site:article-preview", args=[obj.pk])
        return format_html('<a href="{}" target="_blank" rel="noopener">Preview</a>', url)

    @admin.display(description="sponsor block")
    def sponsor_block(self, obj: Article) -> str:
        if not obj.pk:
            return "Save the article to add a sponsorship."
        sponsorship = display_sponsorship(obj)
        if sponsorship is None:
            shown: str = "None showing."
        else:
            shown = format_html(
                "{}: {} (via its {}).",
                sponsorship.label,
                sponsorship.sponsor,
                sponsorship.target_kind,
            )
        if not getattr(obj, "may_add_sponsorship", False):
            return format_html("{} Ad ops add sponsorships.", shown)
        add_url = reverse("admin:sponsors_sponsorship_add") + f"?article={obj.pk}"
        return format_html('{} <a href="{}">Add a sponsorship</a>', shown, add_url)

    @admin.action(description="Publish now", permissions=["change"])
    def publish_now(self, request, queryset):
        try:
            changed = services.articles_publish_now(articles=queryset)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return
        self.message_user(
            request, f"{changed} article(s) published; {queryset.count() - changed} already live."
        )

    @admin.action(description="Archive (take off the site)", permissions=["change"])
    def archive(self, request, queryset):
        changed = services.articles_archive(articles=queryset)
        self.message_user(request, f"{changed} article(s) archived.", messages.SUCCESS)


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Author)
class AuthorAdmin(admin.ModelAdmin):
    list_display = ["name", "role", "region"]
    search_fields = ["name", "role", "region"]
    list_filter = ["region"]
    prepopulated_fields = {"slug": ["name"]}
    fields = ["name", "slug", "role", "region", "photo"]


# The partner-submission moderation queue registers itself with the admin.
from cms import admin_submissions  # noqa: E402, F401
