"""The admin's home page for staff: the dashboard (``sponsors.dashboard``) above the app list.

The default admin site keeps its identity (every app registers on ``admin.site``); only its
``index`` view and template are replaced. The view stays thin: the service gathers the
sections the user may see, this adds the links whose permissions live in the ModelAdmins.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from sponsors.admin.countdowns import CountdownAdmin
from sponsors.dashboard import build_dashboard
from sponsors.models import Countdown

# The stock index (the app list, recent actions), which renders our template with our context.
_stock_index = admin.site.index


def _url_or_none(name: str) -> str | None:
    """The URL named ``name``, or None while no page has it."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def dashboard_index(request: HttpRequest, extra_context: dict[str, Any] | None = None):
    """The admin index: what is live, what changes soon, what needs someone, then the apps."""
    dashboard = build_dashboard(user=request.user, now=timezone.now())
    countdowns = admin.site.get_model_admin(Countdown)
    context = {
        "dashboard": dashboard,
        # Extending follows the countdown admin's rule (change countdown + add extension).
        "can_extend": dashboard.countdowns is not None
        and isinstance(countdowns, CountdownAdmin)
        and countdowns.has_extend_permission(request),
        # The delivery report is another page's (admin:sponsors_delivery_report); until it
        # exists, behind-pace lines link to their campaign only.
        "report_url": _url_or_none("admin:sponsors_delivery_report"),
        **(extra_context or {}),
    }
    response: TemplateResponse = _stock_index(request, extra_context=context)
    return response


admin.site.index = dashboard_index  # type: ignore[method-assign]  # the site stays admin.site
admin.site.index_template = "sponsors/admin/dashboard.html"
