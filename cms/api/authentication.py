"""API token authentication (partner and staff tokens) that gives up on a guessing client.

A client address that failed ``TOKEN_AUTH_FAILURE_LIMIT`` token authentications within a
window of ``TOKEN_AUTH_FAILURE_WINDOW`` seconds is answered 429 (with ``Retry-After``) for
every token it sends until that window ends, a right one too: a right token found by
guessing must not be told apart. Requests without a token are not concerned.

(Imported by DRF's settings while ``rest_framework.views`` loads: nothing here may import
that module, ``cms.api.errors`` included.)
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, status
from rest_framework.authentication import TokenAuthentication, get_authorization_header

from cms import signin
from cms.proxies import client_ip

# DRF adds "Expected available in N seconds." to the detail.
THROTTLED_DETAIL = "Too many failed token authentications from this address."
THROTTLED_DESCRIPTION = (
    "Too many failed token authentications from this address: every token it sends is "
    "refused until the seconds in the Retry-After header have passed."
)


class TokenAuthenticationThrottled(exceptions.Throttled):
    default_code = "throttled"


class ThrottledTokenAuthentication(TokenAuthentication):
    def authenticate(self, request: Any) -> Any:
        words = get_authorization_header(request).split()
        if not words or words[0].lower() != self.keyword.lower().encode():
            return None  # no token: nothing to count (and nothing refused)
        client = client_ip(request._request) or "unknown"
        wait = signin.token_auth_wait(client)
        if wait is not None:
            raise TokenAuthenticationThrottled(wait=wait, detail=THROTTLED_DETAIL)
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            signin.token_auth_failed(client)
            raise

    def authenticate_credentials(self, key: str) -> Any:
        # Tokens are 40 characters; a NUL byte would reach PostgreSQL (a 500), and a longer
        # key cannot match: both are the failure they are, without a query.
        if "\x00" in key or len(key) > 40:
            raise exceptions.AuthenticationFailed("Invalid token.")
        return super().authenticate_credentials(key)


def document_token_throttle(result, generator, request, public):
    """Schema hook: every operation that takes a token may answer 429 (documented as
    ``ERROR_401`` is, with the error format), unless it documents its own 429 already."""
    body = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method == "options":
                continue
            schemes = {name for entry in operation.get("security", []) for name in entry}
            if "tokenAuth" not in schemes:
                continue
            responses = operation.setdefault("responses", {})
            code = str(status.HTTP_429_TOO_MANY_REQUESTS)
            if code in responses:  # its own limit (submissions): say both
                responses[code]["description"] += f" Or: {THROTTLED_DESCRIPTION}"
                continue
            responses[code] = {"description": THROTTLED_DESCRIPTION}
            if method != "head":
                responses[code]["content"] = body
    return result
