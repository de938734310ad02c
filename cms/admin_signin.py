"""The admin's sign-in: password, the authenticator app's code, enrollment, the lockout page.

``StaffAdminSite`` is ``admin.site`` (``cms.apps.StaffAdminConfig``): every app registers on
it as before. What it adds:

- the login form asks for the authentication code too; it is required of anyone with a
  confirmed device, checked after the password, and a wrong one counts as a failed sign-in
  for django-axes like a wrong password (the same message, so neither is told apart);
- someone who must use a second factor (``cms.signin.second_factor_required``) and has none
  yet is not signed in by the password: the two-factor page shows them a QR code and the
  secret, and signs them in once they enter a first code from their app;
- someone signed in may set up a device there too (optional where it is not required);
- ``locked_out``: the page django-axes answers (429) while a sign-in is locked out.

The rules live in ``cms.signin``; this module is forms and views.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth import views as auth_views
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from cms import signin

TOKEN_WIDGET = forms.TextInput(
    attrs={
        "autocomplete": "one-time-code",
        "inputmode": "numeric",
        "pattern": "[0-9 ]*",
        "size": 8,
    }
)


class BoundedUsernameMixin:
    """Django's AuthenticationForm sets the username's max length after its validators are
    made, so any length reaches ``authenticate()``, and django-axes writes it to a column of
    255 (a 500 on PostgreSQL): the length is checked here, as the field says."""

    def clean_username(self) -> str:
        username: str = self.cleaned_data["username"]  # type: ignore[attr-defined]  # a Form's
        limit = self.fields["username"].max_length  # type: ignore[attr-defined]  # a Form's
        if limit is not None and len(username) > limit:
            raise forms.ValidationError(
                f"Ensure this value has at most {limit} characters.", code="max_length"
            )
        return username


class StaffAuthenticationForm(BoundedUsernameMixin, AdminAuthenticationForm):
    """Username, password and (for whoever has set up two-factor sign-in) the code."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": (
            "Please enter the correct %(username)s and password for a staff account, and "
            "the current code of your authenticator app if you have set up two-factor "
            "sign-in. Note that the fields may be case-sensitive."
        ),
    }

    otp_token = forms.CharField(
        label="Authentication code",
        required=False,
        max_length=10,
        strip=True,
        widget=TOKEN_WIDGET,
        help_text="The 6 digits your authenticator app shows, if you have set it up.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.device: Any = None
        self.needs_enrollment = False

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()  # the password (django-axes refuses a locked-out sign-in)
        user = self.get_user()
        if user is None:
            return cleaned
        if signin.confirmed_device(user) is not None:
            self.device = signin.verify_second_factor(user, cleaned.get("otp_token") or "")
            if self.device is None:
                # Counted by django-axes as the failure it is: the code is throttled too.
                user_login_failed.send(
                    sender=__name__,
                    credentials={"username": user.get_username()},
                    request=self.request,
                )
                raise self.get_invalid_login_error()
        elif signin.second_factor_required(user):
            self.needs_enrollment = True
        return cleaned


class StaffLoginView(auth_views.LoginView):
    """Django's LoginView (``login`` cycles the session key), except that someone who must
    first set up a second factor is sent to do so, not signed in."""

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        if form.needs_enrollment:
            next_url = self.get_redirect_url() or reverse("admin:index")
            signin.pending_start(self.request, user=user, next_url=next_url)
            return HttpResponseRedirect(reverse("admin:two_factor"))
        if form.device is not None:
            user.otp_device = form.device  # django-otp keeps it in the session at login
        response: HttpResponse = super().form_valid(form)
        return response


class FirstTokenForm(forms.Form):
    otp_token = forms.CharField(
        label="Code from your app", max_length=10, strip=True, widget=TOKEN_WIDGET
    )


class StaffAdminSite(admin.AdminSite):
    login_form = StaffAuthenticationForm
    login_template = "admin/signin/login.html"

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        """Django's admin login view with ``StaffLoginView`` (the same context)."""
        if request.method == "GET" and self.has_permission(request):
            return HttpResponseRedirect(reverse("admin:index", current_app=self.name))
        context = {
            **self.each_context(request),
            "title": "Log in",
            "subtitle": None,
            "app_path": request.get_full_path(),
            "username": request.user.get_username(),
        }
        if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
            context[REDIRECT_FIELD_NAME] = reverse("admin:index", current_app=self.name)
        context.update(extra_context or {})
        request.current_app = self.name  # as AdminSite.login
        return StaffLoginView.as_view(
            extra_context=context,
            authentication_form=self.login_form,
            template_name=self.login_template,
        )(request)

    def get_urls(self) -> list[URLResolver | URLPattern]:
        return [
            path("two-factor/", self.two_factor_view, name="two_factor"),
            *super().get_urls(),
        ]

    @method_decorator(never_cache)
    @method_decorator(csrf_protect)
    def two_factor_view(self, request: HttpRequest) -> HttpResponseBase:
        """Set up the authenticator app: the QR code and secret, then a first code.

        For someone whose password was just accepted and who must use a second factor (the
        first code signs them in), or for a staff member signed in already (optional where
        it is not required). Whoever has a device already is told so; a lost phone is a
        superuser's to reset (*TOTP devices*: delete it).
        """
        user = signin.pending_user(request)
        if user is None and request.user.is_active and request.user.is_staff:
            user = request.user
        if user is None:
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        context: dict[str, Any] = {
            **self.each_context(request),
            "title": "Two-factor sign-in",
            "subtitle": None,
            "account": user,
            "required": signin.second_factor_required(user),
        }
        if signin.confirmed_device(user) is not None:
            return TemplateResponse(request, "admin/signin/two_factor_on.html", context)
        device = signin.enrollment_device(user)
        form = FirstTokenForm(request.POST or None)
        status = 200
        if request.method == "POST":
            status = 400
            if form.is_valid():
                if signin.enrollment_confirm(device, form.cleaned_data["otp_token"]):
                    next_url = signin.pending_next(request)
                    signin.sign_in_verified(request, user=user, device=device)
                    messages.success(
                        request,
                        "Two-factor sign-in is on: from now on, sign in with your password "
                        "and the code your app shows.",
                    )
                    return redirect(_safe_next(request, next_url))
                form.add_error(
                    "otp_token",
                    "That code is not the one your app shows now; enter the current one.",
                )
        context.update(
            {
                "form": form,
                "secret": signin.device_secret(device),
                "qr_svg": signin.device_qr_svg(device),
            }
        )
        return TemplateResponse(request, "admin/signin/two_factor.html", context, status=status)


def _safe_next(request: HttpRequest, next_url: str) -> str:
    if next_url and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return next_url
    return reverse("admin:index")


def locked_out(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    """django-axes' answer to a locked-out sign-in (AXES_LOCKOUT_CALLABLE): a page in the
    look of where the sign-in was (the admin, or the partners' pages), 429 with Retry-After."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    context: dict[str, Any] = {
        "title": "Too many failed sign-ins",
        "subtitle": None,
        "cooloff_minutes": minutes,
        "failure_limit": settings.AXES_FAILURE_LIMIT,
    }
    if request.path.startswith(reverse("partners:login")):
        template = "cms/partners/locked_out.html"
        context["login_url"] = reverse("partners:login")
    else:
        template = "admin/signin/locked_out.html"
        context.update(admin.site.each_context(request))
        context["login_url"] = reverse("admin:login")
    response = TemplateResponse(request, template, context, status=429)
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    response.render()
    return response
