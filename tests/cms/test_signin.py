"""Sign-in that resists attack: the admin's and the partners' sign-in throttled (django-axes),
sessions rotated at sign-in, and two-factor sign-in (TOTP, django-otp) for staff.

Every sign-in here goes through the real forms (a POST to the login page), so django-axes
sees each attempt as an attacker's would be seen.
"""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from tests.sponsors.factories import PartnerFactory

pytestmark = pytest.mark.django_db

ADMIN_LOGIN = "/admin/login/"
PARTNER_LOGIN = "/partners/login/"
ATTACKER = "203.0.113.66"
OFFICE = "198.51.100.7"
NOW = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)


def text(response) -> str:
    """The page's visible words (tags dropped, spaces collapsed)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def sign_in(client, username, password, *, at=ADMIN_LOGIN, code=None, address=OFFICE):
    data = {"username": username, "password": password}
    if code is not None:
        data["otp_token"] = code
    return client.post(at, data, REMOTE_ADDR=address)


def signed_in_as(client) -> str | None:
    """Who the admin takes this client for (None: sent to the login page)."""
    response = client.get("/admin/")
    if response.status_code != 200:
        return None
    return response.context["user"].get_username()


def code_of(device: TOTPDevice) -> str:
    """The code the user's authenticator app shows now (computed from the device's key)."""
    device.refresh_from_db()
    value = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{value:0{device.digits}d}"


def wrong_code_of(device: TOTPDevice) -> str:
    """A code the app does not show now (never the right one by chance)."""
    return f"{(int(code_of(device)) + 1) % 10**device.digits:0{device.digits}d}"


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def boss():
    return User.objects.create_superuser("boss", password="right-password")


@pytest.fixture
def ad_ops():
    user = User.objects.create_user("ops", password="right-password", is_staff=True)
    user.groups.add(Group.objects.get(name="Ad ops"))
    return user


@pytest.fixture
def editor():
    user = User.objects.create_user("ed", password="right-password", is_staff=True)
    user.groups.add(Group.objects.get(name="Editors"))
    return user


@pytest.fixture
def otp_required(settings):
    settings.OTP_REQUIRED = True


def confirmed_device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


# --- Brute force ------------------------------------------------------------------------------


def test_200_wrong_passwords_then_the_right_one_do_not_get_in(client, boss, clock):
    for attempt in range(200):
        clock.shift(dt.timedelta(seconds=0.2))  # 5 a second, as the attack went
        response = sign_in(client, "boss", f"guess-{attempt}", address=ATTACKER)
        assert response.status_code in (200, 429)
    response = sign_in(client, "boss", "right-password", address=ATTACKER)
    assert response.status_code == 429
    assert signed_in_as(client) is None
    page = text(response)
    assert "Too many failed sign-ins" in page
    assert f"paused for {settings.AXES_COOLOFF_TIME.seconds // 60} minutes" in page
    assert "Sponsored content" in page  # the admin's look (its header), not a bare message
    assert "Traceback" not in page
    assert response["Retry-After"] == str(int(settings.AXES_COOLOFF_TIME.total_seconds()))


def test_the_lockout_starts_at_the_failure_limit(client, boss):
    for attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "boss", f"guess-{attempt}").status_code == 200
    assert sign_in(client, "boss", "one-more-guess").status_code == 429
    assert AccessAttempt.objects.get(username="boss").failures_since_start == 5


def test_the_lockout_ends_after_the_cooloff_and_the_real_password_gets_in(client, boss, clock):
    for attempt in range(20):
        sign_in(client, "boss", f"guess-{attempt}")
    clock.shift(settings.AXES_COOLOFF_TIME - dt.timedelta(seconds=1))
    assert sign_in(client, "boss", "right-password").status_code == 429
    clock.shift(dt.timedelta(seconds=2))
    response = sign_in(client, "boss", "right-password")
    assert response.status_code == 302
    assert signed_in_as(client) == "boss"
    # The sign-in cleared the count: the next typo starts again from one.
    assert not AccessAttempt.objects.filter(username="boss").exists()


def test_attempts_during_a_lockout_do_not_make_it_longer(client, boss, clock):
    for attempt in range(5):
        sign_in(client, "boss", f"guess-{attempt}")
    for _ in range(14):  # an attacker who keeps trying every minute
        clock.shift(dt.timedelta(minutes=1))
        assert sign_in(client, "boss", "still-guessing").status_code == 429
    clock.shift(dt.timedelta(minutes=1, seconds=1))
    assert sign_in(client, "boss", "right-password").status_code == 302


def test_an_attacker_elsewhere_never_locks_the_real_user_out(client, boss):
    for attempt in range(50):
        sign_in(client, "boss", f"guess-{attempt}", address=ATTACKER)
    assert sign_in(Client(), "boss", "wrong", address=ATTACKER).status_code == 429
    office = Client()
    assert sign_in(office, "boss", "right-password", address=OFFICE).status_code == 302
    assert signed_in_as(office) == "boss"


def test_the_partners_sign_in_is_throttled_too_with_a_page_in_its_look():
    partner = PartnerFactory()
    partner.user.set_password("right-password")
    partner.user.save()
    client = Client()
    for attempt in range(10):
        sign_in(client, partner.user.username, f"guess-{attempt}", at=PARTNER_LOGIN)
    response = sign_in(client, partner.user.username, "right-password", at=PARTNER_LOGIN)
    assert response.status_code == 429
    page = text(response)
    assert "Partner sign-in" in page and "Too many failed sign-ins" in page
    assert "ad-operations team" in page
    assert client.get("/partners/").status_code == 302  # still signed out


def test_a_superuser_unlocks_a_sign_in_by_deleting_its_attempt(client, boss):
    for attempt in range(5):
        sign_in(client, "boss", f"guess-{attempt}", address=ATTACKER)
    attempt = AccessAttempt.objects.get(username="boss")
    root = Client()
    root.force_login(User.objects.create_superuser("root", password="x"))
    url = reverse("admin:axes_accessattempt_delete", args=[attempt.pk])
    assert root.post(url, {"post": "yes"}).status_code == 302
    assert sign_in(client, "boss", "right-password", address=ATTACKER).status_code == 302


# --- Sessions rotate ------------------------------------------------------------------------


def session_key(client) -> str | None:
    cookie = client.cookies.get(settings.SESSION_COOKIE_NAME)
    return cookie.value if cookie else None


def planted_session(client) -> str:
    """A session key the visitor had before signing in (or an attacker planted)."""
    session = client.session
    session["planted"] = True
    session.save()
    return session.session_key


def test_the_admin_sign_in_gives_the_session_a_new_key(client, boss):
    before = planted_session(client)
    assert sign_in(client, "boss", "right-password").status_code == 302
    after = session_key(client)
    assert after and after != before
    assert signed_in_as(client) == "boss"
    # The planted key signs nobody in.
    stranger = Client()
    stranger.cookies[settings.SESSION_COOKIE_NAME] = before
    assert signed_in_as(stranger) is None


def test_the_partners_sign_in_gives_the_session_a_new_key(client):
    partner = PartnerFactory()
    partner.user.set_password("right-password")
    partner.user.save()
    before = planted_session(client)
    response = sign_in(client, partner.user.username, "right-password", at=PARTNER_LOGIN)
    assert response.status_code == 302
    after = session_key(client)
    assert after and after != before
    assert client.get("/partners/").status_code == 200
    stranger = Client()
    stranger.cookies[settings.SESSION_COOKIE_NAME] = before
    assert stranger.get("/partners/").status_code == 302


# --- Two-factor sign-in -----------------------------------------------------------------------


def test_demo_logins_sign_in_with_a_password_alone_in_development(client):
    assert settings.OTP_REQUIRED is False  # the test settings are development's (DEBUG=1)
    call_command("load_demo_data", "--admin-password", "pw", stdout=io.StringIO())
    for username in ("admin", "adops", "editor"):
        visitor = Client()
        assert sign_in(visitor, username, "pw").status_code == 302, username
        assert signed_in_as(visitor) == username
    partner = Client()
    assert sign_in(partner, "partner", "pw", at=PARTNER_LOGIN).status_code == 302
    assert partner.get("/partners/").status_code == 200


def test_loading_the_demo_again_gives_the_printed_logins_back(client):
    call_command("load_demo_data", "--admin-password", "pw", stdout=io.StringIO())
    admin = User.objects.get(username="admin")
    confirmed_device(admin)
    for attempt in range(5):
        sign_in(client, "admin", f"typo-{attempt}")
    call_command("load_demo_data", "--admin-password", "pw", stdout=io.StringIO())
    assert sign_in(client, "admin", "pw").status_code == 302
    assert signed_in_as(client) == "admin"


def test_demo_says_who_sets_up_an_app_when_two_factor_is_required(otp_required):
    out = io.StringIO()
    call_command("load_demo_data", "--admin-password", "pw", stdout=out)
    assert "'admin' and 'adops' set up an authenticator app" in out.getvalue()


@pytest.mark.parametrize("who", ["boss", "ops"])
def test_staff_who_must_use_two_factors_set_up_their_app_after_the_password(
    client, boss, ad_ops, otp_required, clock, who
):
    before = planted_session(client)
    response = sign_in(client, who, "right-password")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:two_factor")
    # The password alone signs nobody in: not the admin, not the staff API by session.
    assert signed_in_as(client) is None
    assert client.get("/api/v1/ad-ops/slots/").status_code in (401, 403)
    pending = session_key(client)

    page = client.get(reverse("admin:two_factor"))
    assert page.status_code == 200
    seen = text(page)
    assert "Set the app up now" in seen
    assert "<svg" in page.content.decode()  # the QR code, inline
    device = TOTPDevice.objects.get(user__username=who, confirmed=False)
    secret = page.context["secret"].replace(" ", "")
    assert len(secret) == 32 and secret in seen.replace(" ", "")

    wrong = client.post(reverse("admin:two_factor"), {"otp_token": wrong_code_of(device)})
    assert wrong.status_code == 400
    assert "not the one your app shows now" in text(wrong)
    assert signed_in_as(client) is None

    clock.shift(dt.timedelta(seconds=30))  # the next code (throttling waits after a miss)
    done = client.post(reverse("admin:two_factor"), {"otp_token": code_of(device)})
    assert done.status_code == 302 and done["Location"] == "/admin/"
    home = client.get("/admin/")
    assert home.status_code == 200 and home.context["user"].get_username() == who
    assert "Two-factor sign-in is on" in text(home)
    after = session_key(client)
    assert after not in (before, pending), "the sign-in after the code gives a new key"
    device.refresh_from_db()
    assert device.confirmed
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id

    # Next time: the password and a code of the app.
    clock.shift(dt.timedelta(minutes=5))
    again = Client()
    assert sign_in(again, who, "right-password").status_code == 200  # no code: refused
    assert signed_in_as(again) is None
    assert sign_in(again, who, "right-password", code=code_of(device)).status_code == 302
    assert signed_in_as(again) == who


def test_staff_with_an_app_enter_its_code_at_the_admin_sign_in(client, ad_ops, clock):
    device = confirmed_device(ad_ops)  # optional in development, then asked for too
    refused = sign_in(client, "ops", "right-password")
    assert refused.status_code == 200
    assert "the current code of your authenticator app" in text(refused)
    before = planted_session(client)
    code = code_of(device)
    assert sign_in(client, "ops", "right-password", code=code).status_code == 302
    assert signed_in_as(client) == "ops"
    assert session_key(client) != before
    # The same code does not sign in twice (a code seen over a shoulder is spent).
    replay = Client()
    assert sign_in(replay, "ops", "right-password", code=code).status_code == 200
    assert signed_in_as(replay) is None


def test_wrong_codes_count_as_failed_sign_ins(client, ad_ops, clock):
    device = confirmed_device(ad_ops)
    for _ in range(5):
        clock.shift(dt.timedelta(minutes=1))  # past django-otp's own delay after a miss
        response = sign_in(client, "ops", "right-password", code=wrong_code_of(device))
    assert response.status_code == 429
    clock.shift(dt.timedelta(minutes=1))
    locked = sign_in(client, "ops", "right-password", code=code_of(device))
    assert locked.status_code == 429
    assert signed_in_as(client) is None


def test_a_wrong_code_and_a_wrong_password_read_the_same(client, ad_ops):
    code = wrong_code_of(confirmed_device(ad_ops))
    wrong_code = text(sign_in(client, "ops", "right-password", code=code))
    wrong_password = text(sign_in(Client(), "ops", "wrong-password", code=code))
    assert wrong_code == wrong_password


def test_editors_sign_in_with_a_password_where_two_factors_are_not_theirs(
    client, editor, otp_required
):
    assert sign_in(client, "ed", "right-password").status_code == 302
    assert signed_in_as(client) == "ed"


def test_staff_set_up_two_factors_by_choice_in_development(client, editor, clock):
    assert sign_in(client, "ed", "right-password").status_code == 302
    before = session_key(client)
    page = client.get(reverse("admin:two_factor"))
    assert "Add a second factor to your account" in text(page)
    device = TOTPDevice.objects.get(user=editor, confirmed=False)
    done = client.post(reverse("admin:two_factor"), {"otp_token": code_of(device)})
    assert done.status_code == 302
    assert session_key(client) != before  # more power in the session: a new key
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert "Two-factor sign-in is on" in text(client.get(reverse("admin:two_factor")))
    clock.shift(dt.timedelta(minutes=1))
    assert sign_in(Client(), "ed", "right-password").status_code == 200  # now a code too


def test_the_two_factor_page_opens_again_with_the_same_secret(client, boss, otp_required):
    sign_in(client, "boss", "right-password")
    first = client.get(reverse("admin:two_factor")).context["secret"]
    assert client.get(reverse("admin:two_factor")).context["secret"] == first
    assert TOTPDevice.objects.filter(user=boss).count() == 1


def test_an_accepted_password_waits_ten_minutes_for_the_app(client, boss, otp_required, clock):
    sign_in(client, "boss", "right-password")
    clock.shift(dt.timedelta(minutes=11))
    response = client.get(reverse("admin:two_factor"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_the_two_factor_page_is_nobodys_without_a_password(client, boss, otp_required):
    response = client.get(reverse("admin:two_factor"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert not TOTPDevice.objects.exists()


def test_a_session_that_owes_its_second_factor_is_nobodys(client, ad_ops, otp_required):
    # A session from before two factors were required (or signed in by any other door).
    client.force_login(ad_ops)
    assert signed_in_as(client) is None
    assert client.get("/api/v1/ad-ops/slots/").status_code in (401, 403)
    # Its staff API token is not concerned: a superuser issued it.
    token = Token.objects.create(user=ad_ops)
    api = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get("/api/v1/ad-ops/slots/").status_code == 200


def test_the_partners_sign_in_is_no_way_around_the_second_factor(client, boss, otp_required):
    response = sign_in(client, "boss", "right-password", at=PARTNER_LOGIN)
    assert response.status_code == 200
    assert "sign in at the admin" in text(response)
    assert signed_in_as(client) is None


@pytest.mark.parametrize("at", [ADMIN_LOGIN, PARTNER_LOGIN])
def test_hostile_sign_in_input_is_refused_not_a_500(client, boss, at):
    for username, password in [("bo\x00ss", "x"), ("b" * 10_000, "x"), ("boss", "p\x00w")]:
        response = sign_in(client, username, password, at=at)
        assert response.status_code in (200, 429), (username[:10], response.status_code)
    response = client.post(
        at,
        {"username": "boss", "password": "x", "otp_token": "\x00" * 20},
        HTTP_X_FORWARDED_FOR="not-an-address",
        HTTP_USER_AGENT="x" * 5000,
        HTTP_ACCEPT="y" * 5000,
    )
    assert response.status_code == 200
