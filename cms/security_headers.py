"""The Content-Security-Policy header, where it means something (issue 15, headers and
deployment).

django-csp's middleware builds the policy string twice for every response (the policy and
the report-only one), a cost the ad hot path (decision, beacons, clicks) would pay for
answers no browser renders as a page. A policy governs documents: JSON answers, answers
without a body (a beacon's 204, a click's 302, a 304) and the like go out without it; every
other answer (HTML pages, error pages, media) gets the policy of cms/settings.py.
"""

from __future__ import annotations

from csp.middleware import CSPMiddleware
from django.http import HttpRequest
from django.http.response import HttpResponseBase

# Answers a browser never renders as a document, so a policy would restrict nothing.
_NOT_DOCUMENTS = ("application/json", "application/problem+json")


def is_document(response: HttpResponseBase) -> bool:
    """Whether a browser could render ``response`` as a page (and run what it loads)."""
    status = response.status_code
    if status == 204 or status == 304 or 300 <= status < 400:
        return False
    content_type = response.get("Content-Type", "").split(";", 1)[0].strip().lower()
    return content_type not in _NOT_DOCUMENTS


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's ``CSPMiddleware``, for documents only (see the module's docstring)."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if not is_document(response):
            return response
        return super().process_response(request, response)
