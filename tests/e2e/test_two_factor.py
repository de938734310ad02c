"""Two-factor sign-in in a real browser: an Ad ops member whose sign-in requires it signs in
with the password, sets up the authenticator app from the page (the secret it shows) and is
signed in by the app's first code."""

from base64 import b32decode

from django.contrib.auth.models import Group, User
from django_otp.oath import totp

from tests.e2e.browser import NEEDS_CHROMIUM

pytestmark = NEEDS_CHROMIUM


def code_for(secret: str) -> str:
    """What an authenticator app shows now for the secret the page gave."""
    key = b32decode(secret.replace(" ", "") + "=" * (-len(secret.replace(" ", "")) % 8))
    return f"{totp(key):06d}"


def test_ad_ops_set_up_the_app_after_the_password_and_are_signed_in(
    seeded, live_server, browser_page, settings
):
    settings.OTP_REQUIRED = True
    user = User.objects.create_user("ops", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Ad ops"))
    base = live_server.url

    with browser_page() as page:
        page.goto(f"{base}/admin/login/")
        page.fill("#id_username", "ops")
        page.fill("#id_password", "pw")
        with page.expect_navigation():
            page.click("input[type=submit]")
        assert page.url == f"{base}/admin/two-factor/"
        assert page.locator(".qr svg").is_visible()
        secret = page.locator("#totp-secret").inner_text()

        page.fill("#id_otp_token", code_for(secret))
        with page.expect_navigation():
            page.click("input[type=submit]")
        assert page.url == f"{base}/admin/"
        assert page.get_by_text("Two-factor sign-in is on").is_visible()
        assert "welcome, ops" in page.inner_text("#user-tools").lower()  # as themselves
