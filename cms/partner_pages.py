"""Server-rendered pages for partners: sign in, see your submissions, "Add your own content +",
and the sponsor's own report.

The form page calls the same service as ``POST /api/v1/submissions/`` (``cms.submissions``),
so sanitizing, the rate limit and who may submit are the same for both. The report's figures
come from ``sponsors.partner_reports``, always for the partner's own sponsor.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from cms import signin
from cms.admin_signin import BoundedUsernameMixin
from cms.images import SafeImageFormField
from cms.models import Topic
from cms.submissions import (
    MAX_TOPICS,
    SubmissionRateLimitedError,
    own_submissions,
    plain_html,
    submission_create,
)
from sponsors import partner_reports
from sponsors.models import Partner
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


class ReportForm(forms.Form):
    """The report's dates and campaign; only the sponsor's own campaigns are choices."""

    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))
    campaign = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, label="Campaign"
    )

    def __init__(self, data, *, campaigns):
        # Missing or empty dates are the default range, shown in the form as such.
        data = data.copy()
        for name, default in zip(("start", "end"), partner_reports.default_range(), strict=True):
            if not data.get(name):
                data[name] = default.isoformat()
        super().__init__(data)
        self.campaigns = {campaign.pk: campaign for campaign in campaigns}
        self.fields["campaign"].choices = [("", "All campaigns")] + [
            (campaign.pk, campaign.name) for campaign in campaigns
        ]

    def clean(self):
        data = super().clean()
        if not self.has_error("start") and not self.has_error("end"):
            try:
                partner_reports.check_range(data["start"], data["end"])
            except ValidationError as error:
                for name, errors in error.error_dict.items():
                    self.add_error(name, errors)
        return data

    def query(self) -> str:
        """The query string of this report (for its CSV links)."""
        data = self.cleaned_data
        params = {"start": data["start"].isoformat(), "end": data["end"].isoformat()}
        if data["campaign"]:
            params["campaign"] = str(data["campaign"])
        return urlencode(params)

    def report_args(self) -> dict:
        data = self.cleaned_data
        return {
            "start": data["start"],
            "end": data["end"],
            "campaign": self.campaigns.get(data["campaign"]) if data["campaign"] else None,
        }


def _report_partner_or_403(request) -> Partner:
    partner = partner_reports.report_partner(request.user)
    if partner is None:
        raise PermissionDenied("Only active partner accounts can see a sponsor's report.")
    return partner


def _report_form(request):
    """The partner (or 403), the sponsor's campaigns and the bound form."""
    partner = _report_partner_or_403(request)
    campaigns = partner_reports.sponsor_campaigns(partner.sponsor)
    form = ReportForm(request.GET, campaigns=campaigns)
    return partner, campaigns, form


def _invalid(request, partner, form):
    return render(
        request, "cms/partners/report.html", {"partner": partner, "form": form}, status=400
    )


class PartnerAuthenticationForm(BoundedUsernameMixin, AuthenticationForm):
    """The partners' sign-in (django-axes throttles it as the admin's). An account that
    signs in with a second factor is staff, and signs in at the admin, which asks for it."""

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        if signin.second_factor_owed_at_sign_in(user):
            raise ValidationError(
                "This account signs in with two factors: sign in at the admin.",
                code="second_factor",
            )


class PartnerLoginView(auth_views.LoginView):
    """Django's LoginView: ``login`` gives the signed-in session a new key."""

    authentication_form = PartnerAuthenticationForm
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


@never_cache
@login_required(login_url=LOGIN_URL)
@require_safe
def report(request):
    """The sponsor's campaigns (impressions, clicks, CTR by day, a chart) and article reads."""
    partner, campaigns, form = _report_form(request)
    if not form.is_valid():
        return _invalid(request, partner, form)
    report = partner_reports.partner_report(
        sponsor=partner.sponsor, campaigns=campaigns, **form.report_args()
    )
    return render(
        request,
        "cms/partners/report.html",
        {"partner": partner, "form": form, "report": report, "query": form.query()},
    )


def _csv_response(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@never_cache
@login_required(login_url=LOGIN_URL)
@require_safe
def report_delivery_csv(request):
    """The report's campaign figures, one row per day and campaign."""
    partner, campaigns, form = _report_form(request)
    if not form.is_valid():
        return _invalid(request, partner, form)
    args = form.report_args()
    delivery = partner_reports.campaign_delivery(
        sponsor=partner.sponsor, campaigns=campaigns, **args
    )
    name = f"{partner.sponsor.slug}-delivery-{args['start']}-{args['end']}.csv"
    return _csv_response(partner_reports.delivery_csv(delivery), name)


@never_cache
@login_required(login_url=LOGIN_URL)
@require_safe
def report_reads_csv(request):
    """The reads of the sponsor's articles, one row per day and article."""
    partner, _, form = _report_form(request)
    if not form.is_valid():
        return _invalid(request, partner, form)
    args = form.report_args()
    reads = partner_reports.article_reads(
        sponsor=partner.sponsor, start=args["start"], end=args["end"]
    )
    name = f"{partner.sponsor.slug}-reads-{args['start']}-{args['end']}.csv"
    return _csv_response(partner_reports.reads_csv(reads), name)


app_name = "partners"
urlpatterns = [
    path("", home, name="home"),
    path("submit/", submit, name="submit"),
    path("report/", report, name="report"),
    path("report/delivery.csv", report_delivery_csv, name="report_delivery_csv"),
    path("report/reads.csv", report_reads_csv, name="report_reads_csv"),
    path("login/", PartnerLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page=LOGIN_URL), name="logout"),
]
