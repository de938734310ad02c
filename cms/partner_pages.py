"""Server-rendered pages for partners: sign in, see your submissions, "Add your own content +".

The form page calls the same service as ``POST /api/v1/submissions/`` (``cms.submissions``),
so sanitizing, the rate limit and who may submit are the same for both.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import path, reverse_lazy
from django.views.decorators.http import require_http_methods

from cms.images import SafeImageFormField
from cms.models import Topic
from cms.submissions import (
    MAX_TOPICS,
    SubmissionRateLimitedError,
    own_submissions,
    plain_html,
    submission_create,
)
from sponsors.sponsorships import partner_can_submit, partner_for

LOGIN_URL = reverse_lazy("partners:login")


class SubmissionForm(forms.Form):
    headline = forms.CharField(max_length=200)
    standfirst = forms.CharField(
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One or two sentences under the headline.",
    )
    body_text = forms.CharField(
        label="Body",
        max_length=100_000,
        widget=forms.Textarea(attrs={"rows": 16}),
        help_text="Leave a blank line between paragraphs. Start a line with “## ” for a "
        "heading, “- ” for each bullet of a list, “> ” for a pull quote (a last line "
        "“> — Name” credits the speaker). Bold, italics and links in HTML are kept; any "
        "other markup is removed.",
    )
    topics = forms.ModelMultipleChoiceField(
        queryset=Topic.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=f"Up to {MAX_TOPICS}.",
    )
    hero_image = SafeImageFormField(
        required=False, help_text="JPEG, PNG, WebP or GIF. Stored without its metadata."
    )
    hero_caption = forms.CharField(max_length=300, required=False)
    hero_alt = forms.CharField(
        label="Image description", max_length=300, required=False, help_text="For screen readers."
    )


def _partner_or_403(request):
    partner = partner_for(request.user)
    if not partner_can_submit(partner):
        raise PermissionDenied("Only active partner accounts can submit content.")
    return partner


class PartnerLoginView(auth_views.LoginView):
    template_name = "cms/partners/login.html"
    redirect_authenticated_user = True
    next_page = reverse_lazy("partners:home")  # type: ignore[assignment]  # a lazy URL, resolved on use


@login_required(login_url=LOGIN_URL)
def home(request):
    """The partner's submissions with their status (and reason, when rejected)."""
    partner = _partner_or_403(request)
    rows = [
        (submission, plain_html(submission.headline), plain_html(submission.rejection_reason))
        for submission in own_submissions(user=request.user)
    ]
    return render(request, "cms/partners/home.html", {"partner": partner, "rows": rows})


@login_required(login_url=LOGIN_URL)
@require_http_methods(["GET", "POST"])
def submit(request):
    """ "Add your own content +": the form for one new submission."""
    partner = _partner_or_403(request)
    form = SubmissionForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            submission_create(user=request.user, data=form.cleaned_data)
        except ValidationError as error:
            for field, field_errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, field_errors)
            status = 400
        except SubmissionRateLimitedError as limited:
            form.add_error(None, limited.message)
            status = 429
        else:
            messages.success(request, "Thank you: your content was sent to our editors for review.")
            return redirect("partners:home")
    elif request.method == "POST":
        status = 400
    return render(
        request, "cms/partners/submit.html", {"partner": partner, "form": form}, status=status
    )


app_name = "partners"
urlpatterns = [
    path("", home, name="home"),
    path("submit/", submit, name="submit"),
    path("login/", PartnerLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page=LOGIN_URL), name="logout"),
]
