"""Sign-in that resists attack: who owes a second factor, TOTP enrollment, the sign-in that
waits for it, and the count of failed API token authentications per client address.

The password throttle of the sign-in forms is django-axes' (settings ``AXES_*``); this module
holds what the project adds around it. The admin's pages (``cms.admin_signin``), the API's
token authentication (``cms.api.authentication``) and the session check
(``cms.middleware``) call it; none of them decides a rule of its own.
"""

from __future__ import annotations

import functools
import io
import logging
import time
from base64 import b32encode
from typing import Any

import redis
from django.conf import settings
from django.contrib import auth
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp import login as otp_login
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_redis.exceptions import ConnectionInterrupted

log = logging.getLogger(__name__)

# The name an authenticator app shows for the device enrolled from the two-factor page.
DEVICE_NAME = "Authenticator app"
# A password accepted for someone who must enroll first is remembered this long (seconds).
PENDING_SECONDS = 10 * 60
PENDING_SESSION_KEY = "signin_pending"

AnyUser = AbstractBaseUser | AnonymousUser


# --- Who owes a second factor ----------------------------------------------------------------


def second_factor_required(user: Any) -> bool:
    """Whether ``user`` must sign in with a second factor: with ``OTP_REQUIRED`` on,
    superusers and staff in one of ``OTP_REQUIRED_GROUPS``. (No query for a superuser, nor
    while ``OTP_REQUIRED`` is off, as in development.)"""
    if not settings.OTP_REQUIRED or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return bool(
        user.is_staff and user.groups.filter(name__in=settings.OTP_REQUIRED_GROUPS).exists()
    )


def confirmed_device(user: Any) -> TOTPDevice | None:
    """The user's confirmed TOTP device, if they have set one up."""
    device: TOTPDevice | None = (
        TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).order_by("pk").first()
    )
    return device


def second_factor_owed_at_sign_in(user: Any) -> bool:
    """Whether signing ``user`` in takes a second factor: they must use one, or have set
    one up (optional in development, and then asked for too)."""
    return second_factor_required(user) or confirmed_device(user) is not None


def verify_second_factor(user: Any, token: str) -> TOTPDevice | None:
    """The confirmed device of ``user`` that accepts ``token`` now, or None.

    A token is accepted once (the device remembers the last time step it took), and a
    device that has just refused tokens refuses any for a growing delay (django-otp's
    throttling), so the six digits cannot be tried through.
    """
    token = token.strip().replace(" ", "")
    if not token.isdigit():
        return None
    with transaction.atomic():  # verifications of one device one at a time
        devices = TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).select_for_update()
        for device in devices.order_by("pk"):
            if device.verify_token(token):
                return device
    return None


def session_user(request: HttpRequest, user: Any | None = None) -> Any:
    """The user of ``request``'s session, with django-otp's ``otp_device`` and
    ``is_verified()``; anonymous while they owe a second factor they have not given.

    ``user`` is the session's user when the caller has it (the middleware); otherwise it is
    read from the session. Costs no query unless the session holds a verified device or
    ``OTP_REQUIRED`` is on.
    """
    if user is None:
        user = auth.get_user(request)
    found: Any = user
    device = None
    if user.is_authenticated:
        persistent_id = request.session.get(DEVICE_ID_SESSION_KEY)
        if persistent_id:
            device = Device.from_persistent_id(persistent_id)
            if device is None or device.user_id != user.pk or not device.confirmed:
                device = None
                del request.session[DEVICE_ID_SESSION_KEY]
        if device is None and second_factor_required(user):
            found = AnonymousUser()
    found.otp_device = device
    found.is_verified = functools.partial(_is_verified, found)
    return found


def _is_verified(user: Any) -> bool:
    return user.otp_device is not None


# --- A password accepted, the second factor still to come ------------------------------------


def pending_start(request: HttpRequest, *, user: Any, next_url: str) -> None:
    """Remember (in the still anonymous session) that ``user`` gave the right password and
    must now set up a second factor; nobody is signed in until they have."""
    request.session[PENDING_SESSION_KEY] = {
        "user": user.pk,
        "backend": user.backend,
        "next": next_url,
        "at": time.time(),
    }


def pending_user(request: HttpRequest) -> User | None:
    """The user whose password this session accepted for enrollment, while it is fresh."""
    pending = request.session.get(PENDING_SESSION_KEY)
    if not isinstance(pending, dict):
        return None
    if time.time() - float(pending.get("at", 0)) > PENDING_SECONDS:
        del request.session[PENDING_SESSION_KEY]
        return None
    pk = pending.get("user")
    if not isinstance(pk, int):
        return None
    return User.objects.filter(pk=pk, is_active=True, is_staff=True).first()


def pending_next(request: HttpRequest) -> str:
    pending = request.session.get(PENDING_SESSION_KEY) or {}
    return str(pending.get("next") or "")


def sign_in_verified(request: HttpRequest, *, user: Any, device: TOTPDevice) -> None:
    """Sign ``user`` in with ``device`` as their second factor (a new session key).

    For the pending sign-in, this is the sign-in itself (``login`` cycles the key); for
    someone signed in already who adds a device, the key is cycled too, since the session
    now holds more power than before.
    """
    pending = request.session.get(PENDING_SESSION_KEY) or {}
    if request.user.is_authenticated and request.user.pk == user.pk:
        request.session.cycle_key()
        otp_login(request, device)
    else:
        user.otp_device = device  # django-otp stores it in the session on user_logged_in
        auth.login(request, user, backend=pending.get("backend"))
    request.session.pop(PENDING_SESSION_KEY, None)


# --- Enrollment ------------------------------------------------------------------------------


def enrollment_device(user: Any) -> TOTPDevice:
    """The device ``user`` is setting up: unconfirmed until a first token from it is
    entered, and the same one (the same secret) each time the page is opened meanwhile."""
    device = (
        TOTPDevice.objects.filter(user_id=user.pk, confirmed=False, name=DEVICE_NAME)
        .order_by("pk")
        .first()
    )
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def enrollment_confirm(device: TOTPDevice, token: str) -> bool:
    """Confirm ``device`` with a first token from it: then it is the user's second factor."""
    token = token.strip().replace(" ", "")
    if not token.isdigit() or not device.verify_token(token):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user_id=device.user_id, confirmed=False).delete()
    return True


def device_secret(device: TOTPDevice) -> str:
    """The device's secret in base32, in groups of four, for typing into an app."""
    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def device_qr_svg(device: TOTPDevice) -> str:
    """The device's ``otpauth://`` address as an inline SVG QR code (no image request)."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    out = io.BytesIO()
    image.save(out)
    svg = out.getvalue().decode()
    return svg[svg.index("<svg") :]  # without the XML declaration, to sit inside HTML


def sign_in_reset(user: Any) -> None:
    """Back to a sign-in by password alone (the demo logins, each time the demo loads):
    no device (where a second factor is required, the next sign-in enrolls again) and no
    lockout of django-axes for the username."""
    from axes.utils import reset

    TOTPDevice.objects.filter(user_id=user.pk).delete()
    reset(username=user.get_username())


# --- Failed token authentication, per client address -----------------------------------------

_CACHE_DOWN = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    ConnectionInterrupted,
)


def _failure_window(now: float) -> tuple[int, float]:
    """The window ``now`` is in (its number) and the seconds until it ends."""
    length = settings.TOKEN_AUTH_FAILURE_WINDOW
    window = int(now // length)
    return window, (window + 1) * length - now


def _failure_key(client: str, window: int) -> str:
    return f"signin:token-failures:{client}:{window}"


def token_auth_wait(client: str) -> int | None:
    """Seconds until ``client`` may authenticate with a token again, or None if it may now
    (fewer than ``TOKEN_AUTH_FAILURE_LIMIT`` failures in this window).

    With the cache down, None: a token is 40 random hex digits, so the throttle guards
    against noise more than against guessing, and it does not take the API down with it.
    """
    window, left = _failure_window(time.time())
    try:
        failures = cache.get(_failure_key(client, window), 0)
    except _CACHE_DOWN as exc:
        log.warning("Token failures not read (cache: %s)", exc)
        return None
    if failures < settings.TOKEN_AUTH_FAILURE_LIMIT:
        return None
    return max(1, int(left + 0.999))


def token_auth_failed(client: str) -> None:
    """Count one failed token authentication of ``client`` in the current window."""
    window, left = _failure_window(time.time())
    key = _failure_key(client, window)
    try:
        cache.add(key, 0, timeout=int(left) + 1)
        cache.incr(key)
    except ValueError:  # expired between add and incr: this failure opens the next count
        cache.add(key, 1, timeout=int(left) + 1)
    except _CACHE_DOWN as exc:
        log.warning("Token failure not counted (cache: %s)", exc)
