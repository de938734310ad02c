"""The moderation queue: editors approve partner submissions or reject them with a reason.

Submissions are read-only here (they are the partner's words); approval makes a draft partner
article that editors then edit and schedule like any other.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from cms.images import rendition_urls
from cms.models import Submission
from cms.submissions import (
    moderation_queue,
    plain_html,
    rich_html,
    submission_approve,
    submission_reject,
    submissions_approve,
    submissions_reject,
)


def body_html(blocks: list[dict]) -> SafeString:
    """The submission's body as readers would see it (every piece sanitized again)."""
    parts = []
    for block in blocks:
        kind = block.get("type")
        if kind == "paragraph":
            parts.append(format_html("<p>{}</p>", rich_html(block.get("text", ""))))
        elif kind == "heading":
            parts.append(format_html("<h3>{}</h3>", plain_html(block.get("text", ""))))
        elif kind == "quote":
            attribution = block.get("attribution")
            parts.append(
                format_html(
                    "<blockquote><p>{}</p>{}</blockquote>",
                    rich_html(block.get("text", "")),
                    format_html("<footer>— {}</footer>", plain_html(attribution))
                    if attribution
                    else "",
                )
            )
        elif kind == "list":
            items = format_html_join("", "<li>{}</li>", ((plain_html(i),) for i in block["items"]))
            parts.append(format_html("<ul>{}</ul>", items))
    return mark_safe("".join(parts))  # each part built with format_html


class RejectForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        max_length=2000,
        help_text="The partner sees this reason with its submission.",
    )


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = [
        "headline_html",
        "sponsor",
        "submitted_by",
        "status",
        "created_at",
        "decided_by",
        "decided_at",
        "article_link",
    ]
    list_display_links = ["headline_html"]
    list_filter = ["status", ("sponsor", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["sponsor", "submitted_by", "decided_by", "article"]
    search_fields = ["headline", "sponsor__name", "submitted_by__username"]
    actions = ["approve_selected", "reject_selected"]
    change_form_template = "admin/cms/submission/change_form.html"
    fieldsets = [
        (
            "Review",
            {
                "fields": [
                    "status",
                    "sponsor",
                    "submitted_by",
                    "created_at",
                    "rejection_reason_html",
                    "decided_by",
                    "decided_at",
                    "article_link",
                ]
            },
        ),
        (
            "Content",
            {
                "fields": [
                    "headline_html",
                    "standfirst_html",
                    "topic_names",
                    "hero_preview",
                    "body_preview",
                    "word_count",
                ]
            },
        ),
    ]
    readonly_fields = flatten_fieldsets(fieldsets)  # every field shown is read-only

    def get_queryset(self, request):
        return moderation_queue().prefetch_related("submission_topics__topic")

    def get_ordering(self, request):
        return ["queue_rank", "created_at", "pk"]  # pending first, oldest first

    # The partner's words are not edited here: editors edit the article approval creates.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_moderate_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("cms.moderate_submission")

    # -- columns and fields ------------------------------------------------------------------

    @admin.display(description="headline", ordering="headline")
    def headline_html(self, obj: Submission) -> SafeString:
        return plain_html(obj.headline)

    @admin.display(description="standfirst")
    def standfirst_html(self, obj: Submission) -> SafeString:
        return plain_html(obj.standfirst)

    @admin.display(description="rejection reason")
    def rejection_reason_html(self, obj: Submission) -> SafeString:
        return plain_html(obj.rejection_reason) or mark_safe("-")

    @admin.display(description="topics")
    def topic_names(self, obj: Submission) -> str:
        return ", ".join(link.topic.name for link in obj.submission_topics.all()) or "-"

    @admin.display(description="hero image")
    def hero_preview(self, obj: Submission) -> str:
        renditions = {r["name"]: r for r in rendition_urls(obj.hero_renditions)}
        image = renditions.get("medium") or renditions.get("original")
        if not image:
            return "-"
        return format_html(
            '<img src="{}" alt="{}" class="admin-hero-preview"><br>{}',
            image["url"],
            plain_html(obj.hero_alt),
            plain_html(obj.hero_caption),
        )

    @admin.display(description="body")
    def body_preview(self, obj: Submission) -> SafeString:
        return body_html(obj.body)

    @admin.display(description="article")
    def article_link(self, obj: Submission) -> str:
        if obj.article is None:
            return "-"
        url = reverse("admin:cms_article_change", args=[obj.article_id])
        return format_html('<a href="{}">{}</a>', url, obj.article.get_status_display())

    # -- actions -------------------------------------------------------------------------------

    @admin.action(description="Approve: create draft partner articles", permissions=["moderate"])
    def approve_selected(self, request, queryset):
        approved, skipped = submissions_approve(submissions=queryset, by=request.user)
        message = (
            f"{approved} submission(s) approved: draft partner articles created with their "
            "sponsorship, ready to schedule."
        )
        if skipped:
            message += f" {skipped} skipped: already decided."
        self.message_user(request, message, messages.SUCCESS if approved else messages.WARNING)

    @admin.action(description="Reject with a reason…", permissions=["moderate"])
    def reject_selected(self, request, queryset):
        form = RejectForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            try:
                rejected, skipped = submissions_reject(
                    submissions=queryset, by=request.user, reason=form.cleaned_data["reason"]
                )
            except ValidationError as error:
                form.add_error("reason", error.message_dict.get("reason", error.messages))
                return self._reject_page(request, queryset, form, bulk=True)
            message = f"{rejected} submission(s) rejected; the partners can see the reason."
            if skipped:
                message += f" {skipped} skipped: already decided."
            self.message_user(request, message, messages.SUCCESS if rejected else messages.WARNING)
            return None
        return self._reject_page(request, queryset, form, bulk=True)

    def _reject_page(self, request, submissions, form, *, bulk: bool):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Reject submissions",
            "submissions": [(item, plain_html(item.headline)) for item in submissions],
            "form": form,
            "bulk": bulk,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/cms/submission/reject.html", context)

    # -- one submission: approve / reject pages ----------------------------------------------

    def get_urls(self):
        return [
            path(
                "<int:pk>/approve/",
                self.admin_site.admin_view(self.approve_view),
                name="cms_submission_approve",
            ),
            path(
                "<int:pk>/reject/",
                self.admin_site.admin_view(self.reject_view),
                name="cms_submission_reject",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_moderate": self.has_moderate_permission(request),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def _moderated(self, request, pk: int) -> Submission:
        submission = get_object_or_404(Submission.objects.select_related("sponsor"), pk=pk)
        if not self.has_moderate_permission(request):
            raise PermissionDenied
        return submission

    def approve_view(self, request, pk: int):
        submission = self._moderated(request, pk)
        change_url = reverse("admin:cms_submission_change", args=[pk])
        if not submission.is_pending:
            self.message_user(request, "This submission was already decided.", messages.WARNING)
            return redirect(change_url)
        if request.method == "POST":
            article = submission_approve(submission=submission, by=request.user)
            if article is None:
                self.message_user(request, "This submission was already decided.", messages.WARNING)
                return redirect(change_url)
            self.message_user(
                request,
                f"1 submission approved: draft partner article created with “Content created "
                f"with: {submission.sponsor}”. Edit and schedule it here.",
                messages.SUCCESS,
            )
            return redirect("admin:cms_article_change", article.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Approve this submission?",
            "submission": submission,
            "headline": plain_html(submission.headline),
        }
        return TemplateResponse(request, "admin/cms/submission/approve.html", context)

    def reject_view(self, request, pk: int):
        submission = self._moderated(request, pk)
        if not submission.is_pending:
            self.message_user(request, "This submission was already decided.", messages.WARNING)
            return redirect("admin:cms_submission_change", pk)
        form = RejectForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            try:
                submission_reject(
                    submission=submission, by=request.user, reason=form.cleaned_data["reason"]
                )
            except ValidationError as error:
                form.add_error("reason", error.message_dict.get("reason", error.messages))
            else:
                self.message_user(
                    request,
                    "1 submission rejected; the partner can see the reason.",
                    messages.SUCCESS,
                )
                return redirect("admin:cms_submission_changelist")
        return self._reject_page(request, [submission], form, bulk=False)
