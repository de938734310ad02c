"""The session check of two-factor sign-in (after Django's AuthenticationMiddleware)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.contrib.auth.middleware import get_user
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from cms import signin


class SecondFactorMiddleware:
    """``request.user`` gets django-otp's ``otp_device`` and ``is_verified()`` (what
    django-otp's OTPMiddleware gives), and is anonymous while its session owes a second
    factor: the admin, the staff API's session authentication and the staff previews then
    treat such a session as nobody's, in one place."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[..., Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def _install(self, request: HttpRequest) -> None:
        lazy: Any = SimpleLazyObject(lambda: signin.session_user(request, get_user(request)))
        request.user = lazy  # lazy, as AuthenticationMiddleware's own

        async def auser() -> Any:
            return await sync_to_async(signin.session_user)(request)

        request.auser = auser  # as AuthenticationMiddleware's own

    def __call__(self, request: HttpRequest) -> Any:
        self._install(request)
        if self.is_async:
            return self._acall(request)
        return self.get_response(request)

    async def _acall(self, request: HttpRequest) -> Any:
        return await self.get_response(request)
