"""X-Forwarded-Proto is believed only from a proxy TRUSTED_PROXIES names: a client that sends
it cannot turn the ads' impression URLs into https, nor get around SECURE_SSL_REDIRECT."""

from __future__ import annotations

import pytest

from cms.proxies import client_ip
from tests.cms.test_settings import manage
from tests.sponsors.factories_ads import CreativeFactory, SlotFactory

pytestmark = pytest.mark.django_db

ADS = "/api/v1/ads/?slots=sitewide-strip"
HTTPS = {"HTTP_X_FORWARDED_PROTO": "https"}
PROXY = {"REMOTE_ADDR": "10.0.0.2", "HTTP_HOST": "testserver"}  # a proxy passes the Host on


@pytest.fixture
def served():
    CreativeFactory(slots=[SlotFactory(key="sitewide-strip", accepts_image=False)])


@pytest.fixture
def behind_proxy(settings):
    """What TRUSTED_PROXIES=10.0.0.2 sets (cms/settings.py)."""
    settings.TRUSTED_PROXIES = ["10.0.0.2"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


def impression_url(client, **extra) -> str:
    response = client.get(ADS, **extra)
    assert response.status_code == 200
    return response.json()["slots"]["sitewide-strip"]["impression_url"]


def test_a_clients_forwarded_proto_is_not_believed(client, served):
    assert impression_url(client, **HTTPS).startswith("http://testserver/api/v1/ads/impression/")


def test_the_named_proxys_forwarded_proto_is_believed(client, served, behind_proxy):
    url = impression_url(client, **PROXY, **HTTPS)
    assert url.startswith("https://testserver/api/v1/ads/impression/")
    assert impression_url(client, **PROXY).startswith("http://testserver/")


def test_with_a_proxy_named_others_still_cannot_claim_https(client, served, behind_proxy):
    # Straight to the app (not through the proxy), with the proxy's header forged.
    assert impression_url(client, REMOTE_ADDR="203.0.113.66", **HTTPS).startswith("http://")


def test_a_forwarded_proto_does_not_get_around_the_https_redirect(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/api/v1/health/", **HTTPS)
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/api/v1/health/"


def test_behind_the_named_proxy_https_requests_are_not_redirected(client, settings, behind_proxy):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/api/v1/health/", **PROXY, **HTTPS).status_code == 200
    plain = client.get("/api/v1/health/", **PROXY)
    assert plain.status_code == 301  # the proxy says the client came over http


SHOW = "from django.conf import settings; print(getattr(settings, 'SECURE_PROXY_SSL_HEADER'))"


def test_the_proxy_header_is_set_only_when_trusted_proxies_name_one():
    unset = manage("shell", "-c", SHOW, env={"TRUSTED_PROXIES": ""})
    assert unset.returncode == 0, unset.stderr
    assert unset.stdout.splitlines()[-1] == "None"
    named = manage("shell", "-c", SHOW, env={"TRUSTED_PROXIES": "10.0.0.2, 10.1.0.0/16"})
    assert named.stdout.splitlines()[-1] == "('HTTP_X_FORWARDED_PROTO', 'https')", named.stderr


def test_a_malformed_proxy_is_a_readable_error():
    result = manage("check", env={"TRUSTED_PROXIES": "lb.internal"})
    assert result.returncode != 0
    assert "TRUSTED_PROXIES: 'lb.internal' is not an IP address or network." in result.stderr
    assert "Traceback" not in result.stderr


def test_the_client_address_is_the_last_hop_no_trusted_proxy_wrote(rf, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]

    def address(remote, forwarded=None):
        extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
        return client_ip(rf.get("/", REMOTE_ADDR=remote, **extra))

    assert address("10.0.0.2", "192.0.2.1, 198.51.100.7, 10.0.0.9") == "198.51.100.7"
    assert address("10.0.0.2") == "10.0.0.2"
    assert address("10.0.0.2", "not-an-address") == "10.0.0.2"  # believe none of it
    assert address("203.0.113.66", "192.0.2.1") == "203.0.113.66"  # not through the proxy
    assert address("") is None  # no network at all (Django's test client's bare requests)
