"""Partner logins: ad-ops create them and issue their API tokens in the admin."""

import re

import pytest
from django.contrib.auth.models import Group, Permission, User
from rest_framework.authtoken.models import Token

from sponsors.models import Partner
from sponsors.sponsorships import partner_can_submit, partner_for
from tests.sponsors.factories import PartnerFactory, SponsorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def adops(client):
    """Ad-ops staff with just the permissions partner management needs."""
    user = User.objects.create_user("adops", is_staff=True)
    for codename in ("add_partner", "change_partner", "view_partner", "view_sponsor"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client.force_login(user)
    return user


def test_partners_group_holds_no_permission_so_the_admin_shows_partners_nothing():
    assert not Group.objects.get(name="Partners").permissions.exists()


def test_a_partner_login_submits_only_while_in_the_partners_group():
    partner = PartnerFactory()
    assert partner_can_submit(partner_for(partner.user))
    partner.user.groups.clear()
    assert not partner_can_submit(partner_for(partner.user))


def test_editors_group_gained_moderation_permissions():
    codenames = set(
        Group.objects.get(name="Editors").permissions.values_list("codename", flat=True)
    )
    assert {"view_submission", "moderate_submission", "view_sponsorship"} <= codenames
    assert not {"add_submission", "change_sponsorship", "delete_sponsor"} & codenames


def test_adops_create_a_partner_login_in_the_admin(client, adops):
    sponsor = SponsorFactory(name="TikTok")
    response = client.post(
        "/admin/sponsors/partner/add/",
        {
            "username": "tiktok-ads",
            "email": "ads@tiktok.example",
            "password": "correct-horse-battery",
            "sponsor": sponsor.pk,
        },
        follow=True,
    )
    assert response.status_code == 200
    assert "Partner login “tiktok-ads” created for TikTok" in response.content.decode()
    partner = Partner.objects.get()
    assert partner.sponsor == sponsor
    assert partner.created_by == adops
    user = partner.user
    assert not user.is_staff and not user.is_superuser
    assert user.check_password("correct-horse-battery")
    assert list(user.groups.values_list("name", flat=True)) == ["Partners"]
    assert partner_can_submit(partner)


def test_creation_form_errors(client, adops):
    User.objects.create_user("taken")
    sponsor = SponsorFactory()
    response = client.post(
        "/admin/sponsors/partner/add/",
        {"username": "TAKEN", "email": "", "password": "123", "sponsor": sponsor.pk},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "That username is taken." in page
    assert "This password is too short" in page
    assert not Partner.objects.exists()


def test_a_partner_without_password_can_only_use_a_token(client, adops):
    sponsor = SponsorFactory()
    client.post(
        "/admin/sponsors/partner/add/",
        {"username": "api-only", "email": "", "password": "", "sponsor": sponsor.pk},
    )
    assert not Partner.objects.get().user.has_usable_password()


def test_adops_issue_a_token_and_the_old_one_stops_working(client, adops, api_client):
    partner = PartnerFactory()
    old_key = partner.user.auth_token.key
    page = client.get(f"/admin/sponsors/partner/{partner.pk}/change/").content.decode()
    assert f"/admin/sponsors/partner/{partner.pk}/token/" in page
    confirm = client.get(f"/admin/sponsors/partner/{partner.pk}/token/").content.decode()
    assert "current token will stop working" in confirm
    assert Token.objects.get(user=partner.user).key == old_key  # GET changes nothing
    response = client.post(f"/admin/sponsors/partner/{partner.pk}/token/")
    new_key = Token.objects.get(user=partner.user).key
    assert new_key != old_key
    assert new_key in response.content.decode()
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {old_key}")
    assert api_client.get("/api/v1/submissions/").status_code == 401
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {new_key}")
    assert api_client.get("/api/v1/submissions/").status_code == 200


def test_bulk_token_action_shows_each_new_key(client, adops):
    first, second = PartnerFactory(), PartnerFactory()
    response = client.post(
        "/admin/sponsors/partner/",
        {"action": "issue_tokens", "_selected_action": [first.pk, second.pk]},
    )
    keys = re.findall(r'<code class="api-token">(\w+)</code>', response.content.decode())
    assert sorted(keys) == sorted(Token.objects.values_list("key", flat=True))
    assert len(keys) == 2


def test_deactivating_a_partner_login_closes_the_api(client, adops, api_client):
    partner = PartnerFactory()
    response = client.post(
        f"/admin/sponsors/partner/{partner.pk}/change/", {"sponsor": partner.sponsor.pk}
    )
    assert response.status_code == 302
    partner.user.refresh_from_db()
    assert not partner.user.is_active
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {partner.user.auth_token.key}")
    assert api_client.get("/api/v1/submissions/").status_code == 401


def test_staff_without_partner_permissions_cannot_issue_tokens(client):
    partner = PartnerFactory()
    client.force_login(User.objects.create_user("someone", is_staff=True))
    assert client.post(f"/admin/sponsors/partner/{partner.pk}/token/").status_code == 403
    assert client.get("/admin/sponsors/partner/add/").status_code == 403


def test_partner_list_shows_login_sponsor_and_token(client, adops):
    PartnerFactory(user__username="tiktok-ads", sponsor__name="TikTok")
    page = client.get("/admin/sponsors/partner/").content.decode()
    assert "tiktok-ads" in page and "TikTok" in page
