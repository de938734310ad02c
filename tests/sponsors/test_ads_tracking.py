"""Impression beacons and click redirects: counted once, bots apart, tokens that cannot lie."""

import datetime as dt
import itertools
from urllib.parse import quote, urlparse

import pytest
import time_machine
from django.core import signing

from sponsors.counters import click_max_age, uses_redis
from sponsors.models import Creative, DeliveryCounter, UncountedCounter
from sponsors.tracking import SALTS, event_reason
from tests.conftest import redis_back
from tests.sponsors.counting import apart, totals
from tests.sponsors.factories_ads import CampaignFactory, CreativeFactory, SlotFactory

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Safari/605.1.15"
DESTINATION = "https://advertiser.example.com/landing?utm_source=news"
NOW = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def creative():
    slot = SlotFactory(key="sidebar")
    return CreativeFactory(name="Ad", click_url=DESTINATION, slots=[slot])


def serve(api_client, viewer=None):
    url = "/api/v1/ads/?slots=sidebar" + (f"&viewer={viewer}" if viewer else "")
    ad = api_client.get(url).json()["slots"]["sidebar"]
    return urlparse(ad["impression_url"]).path, urlparse(ad["click_url"]).path


def test_beacon_counts_once_per_served_ad(api_client, creative):
    beacon, _ = serve(api_client)
    first = api_client.get(beacon, HTTP_USER_AGENT=BROWSER)
    assert first.status_code == 204
    assert first["Cache-Control"] == "no-store, private"
    for _ in range(5):  # replays: answered the same, counted never
        assert api_client.get(beacon, HTTP_USER_AGENT=BROWSER).status_code == 204
        assert api_client.post(beacon, HTTP_USER_AGENT=BROWSER).status_code == 204
    assert totals() == {"impressions": 1, "clicks": 0, "bot_impressions": 0, "bot_clicks": 0}
    assert apart() == {("impression", "replayed"): 10}
    row = DeliveryCounter.objects.get()
    assert (row.creative_id, row.slot.key) == (creative.pk, "sidebar")


def test_each_served_ad_counts_separately_and_post_beacons_count(api_client, creative):
    for n in range(3):
        beacon, _ = serve(api_client)
        send = api_client.post if n % 2 else api_client.get
        assert send(beacon, HTTP_USER_AGENT=BROWSER).status_code == 204
    assert totals()["impressions"] == 3


@pytest.mark.parametrize(
    "user_agent",
    [
        "",
        "Googlebot/2.1 (+http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "facebookexternalhit/1.1",
        "Slackbot-LinkExpanding 1.0",
        "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/120.0 Safari/537.36",
        "AhrefsBot/7.0",
        "Mozilla/5.0 (compatible; YandexBot/3.0)",
    ],
)
def test_bot_traffic_is_counted_apart_and_never_billed(api_client, creative, user_agent):
    beacon, click = serve(api_client)
    assert api_client.get(beacon, HTTP_USER_AGENT=user_agent).status_code == 204
    response = api_client.get(click, HTTP_USER_AGENT=user_agent)
    assert (response.status_code, response["Location"]) == (302, DESTINATION)
    assert totals() == {"impressions": 0, "clicks": 0, "bot_impressions": 1, "bot_clicks": 1}


@pytest.mark.parametrize(
    "user_agent",
    [
        "okhttp/4.12.0",
        "Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8 Build/UQ1A.240205.004)",
        "NewsApp/1.0 CFNetwork/1494.0.7 Darwin/23.4.0",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UQ1A.240205.004; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/131.0.6778.81 Mobile Safari/537.36",
    ],
)
def test_app_beacons_are_billed(api_client, creative, user_agent):
    beacon, click = serve(api_client)
    assert api_client.get(beacon, HTTP_USER_AGENT=user_agent).status_code == 204
    assert api_client.get(click, HTTP_USER_AGENT=user_agent).status_code == 302
    assert totals() == {"impressions": 1, "clicks": 1, "bot_impressions": 0, "bot_clicks": 0}


@pytest.mark.parametrize(
    "user_agent", ["curl/8.5.0", "python-requests/2.32", "axios/1.7.7", "node-fetch/1.0"]
)
def test_server_libraries_are_counted_apart_as_non_browser_clients(
    api_client, creative, user_agent
):
    beacon, click = serve(api_client)
    assert api_client.get(beacon, HTTP_USER_AGENT=user_agent).status_code == 204
    assert api_client.get(click, HTTP_USER_AGENT=user_agent).status_code == 302
    assert totals() == {"impressions": 0, "clicks": 0, "bot_impressions": 0, "bot_clicks": 0}
    assert apart() == {("impression", "non_browser"): 1, ("click", "non_browser"): 1}


def test_okhttp_bills_axios_is_a_non_browser_client_googlebot_a_bot_and_a_replay_replayed(
    api_client, creative
):
    sent = []
    for user_agent in ("okhttp/4.12.0", "axios/1.7.7", "Googlebot/2.1"):
        beacon, _ = serve(api_client)
        assert api_client.get(beacon, HTTP_USER_AGENT=user_agent).status_code == 204
        sent.append(beacon)
    assert api_client.get(sent[0], HTTP_USER_AGENT="okhttp/4.12.0").status_code == 204
    assert totals()["impressions"] == 1
    assert apart() == {
        ("impression", "non_browser"): 1,
        ("impression", "bot"): 1,
        ("impression", "replayed"): 1,
    }


def test_browsers_are_not_bots():
    assert event_reason(user_agent=BROWSER) is None
    iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"
    assert event_reason(user_agent=iphone) is None
    assert event_reason(user_agent=None) == "bot"


@time_machine.travel(NOW, tick=False)  # a cap counts per UTC day: all in one day
def test_bot_impressions_do_not_feed_frequency_caps(api_client):
    slot = SlotFactory(key="sidebar")
    CreativeFactory(campaign=CampaignFactory(frequency_cap=1), name="Capped", slots=[slot])
    for _ in range(3):
        beacon, _ = serve(api_client, viewer="v1")
        api_client.get(beacon, HTTP_USER_AGENT="Googlebot/2.1")
    beacon, _ = serve(api_client, viewer="v1")
    api_client.get(beacon, HTTP_USER_AGENT=BROWSER)
    assert api_client.get("/api/v1/ads/?slots=sidebar&viewer=v1").json()["slots"]["sidebar"] is None


def test_click_redirects_to_the_stored_destination_and_counts_once(api_client, creative):
    _, click = serve(api_client)
    for _ in range(3):
        response = api_client.get(click, HTTP_USER_AGENT=BROWSER)
        assert response.status_code == 302
        assert response["Location"] == DESTINATION
    assert totals()["clicks"] == 1


def test_click_follows_the_destination_as_stored_now_even_when_paused(api_client, creative):
    _, click = serve(api_client)
    creative.click_url = "https://advertiser.example.com/updated"
    creative.is_active = False
    creative.save()
    response = api_client.get(click, HTTP_USER_AGENT=BROWSER)
    assert (response.status_code, response["Location"]) == (
        302,
        "https://advertiser.example.com/updated",
    )


def test_click_on_a_deleted_creative_is_404_and_counts_nothing(api_client, creative):
    _, click = serve(api_client)
    Creative.objects.get(pk=creative.pk).delete()
    response = api_client.get(click, HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert not response.has_header("Location")
    assert totals() == {"impressions": 0, "clicks": 0, "bot_impressions": 0, "bot_clicks": 0}
    assert apart() == {("click", "unknown"): 1}


def test_expired_tokens_are_refused(api_client, creative):
    beacon, click = serve(api_client)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=click_max_age() + 5)
    with time_machine.travel(later, tick=False):
        for url in (beacon, click):
            response = api_client.get(url, HTTP_USER_AGENT=BROWSER)
            assert response.status_code == 400
            assert response.json()["errors"]["token"] == ["This tracking link has expired."]
            assert not response.has_header("Location")
    assert totals() == {"impressions": 0, "clicks": 0, "bot_impressions": 0, "bot_clicks": 0}
    # Counted apart, naming what the token names: it was signed here.
    assert apart() == {("impression", "expired"): 1, ("click", "expired"): 1}
    named = UncountedCounter.objects.values_list("creative_id", "slot_id")
    assert set(named) == {(creative.pk, creative.slots.get().pk)}


def test_beacon_expires_sooner_than_the_click(api_client, creative):
    beacon, click = serve(api_client)
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=1), tick=False):
        assert api_client.get(beacon, HTTP_USER_AGENT=BROWSER).status_code == 400
        assert api_client.get(click, HTTP_USER_AGENT=BROWSER).status_code == 302


def _malicious_tokens(token: str, payload: str, other_slot_payload: str) -> list[str]:
    """At least 200 tokens that must never redirect anywhere nor count anything."""
    alphabet = "A0_-:.z"
    tokens: list[str] = []
    # Every single-character change of the real token (two each), and adjacent swaps.
    for index, char in enumerate(token):
        for replacement in [c for c in alphabet if c != char][:2]:
            tokens.append(token[:index] + replacement + token[index + 1 :])
        if index + 1 < len(token) and token[index + 1] != char:
            tokens.append(token[:index] + token[index + 1] + char + token[index + 2 :])
    # Truncations and extensions.
    tokens += [token[:cut] for cut in range(1, len(token), 7)]
    tokens += [token + suffix for suffix in ("x", ":", ":0", "%00", "/..")]
    # The real signature on other payloads (another creative, slot, campaign or viewer).
    _, stamp, signature = token.rsplit(":", 2)
    placement, creative, slot, campaign, period, viewer = payload.split(".")
    for changed in (
        f"{placement}.{int(creative) + 1}.{slot}.{campaign}.{period}.{viewer}",
        f"{placement}.{creative}.{int(slot) + 1}.{campaign}.{period}.{viewer}",
        f"{placement}.{creative}.{slot}.{int(campaign) + 1}.{period}.{viewer}",
        f"{placement}.{creative}.{slot}.{campaign}.day.{viewer}",
        f"{placement}.{creative}.{slot}.{campaign}.{period}.someone-else",
        f"{placement}x.{creative}.{slot}.{campaign}.{period}.{viewer}",
        other_slot_payload,
    ):
        tokens.append(f"{changed}:{stamp}:{signature}")
    # Signed, but with another key, another purpose or no timestamp.
    for key, salt in itertools.product(
        ("another-sites-secret", None), ("sponsors.ads.impression", "other", "")
    ):
        signer = signing.TimestampSigner(key=key, salt=salt) if key else None
        if signer is None:
            signer = signing.TimestampSigner(salt=salt)
        tokens.append(signer.sign(payload))
    tokens.append(signing.Signer(salt=SALTS["click"]).sign(payload))
    tokens.append(signing.dumps({"creative": creative, "url": "https://evil.example/"}))
    # Open-redirect and injection attempts.
    tokens += [
        "https://evil.example/",
        "//evil.example",
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "%2F%2Fevil.example",
        f"{payload}:{stamp}:{signature}@evil.example",
        f"{payload}.https://evil.example:{stamp}:{signature}",
        f"1.1.1.1..:{stamp}:{signature}",
        "../../admin/",
        "' OR '1'='1",
        "\x00",
        "é" * 20,
        "A" * 500,
        ":" * 10,
        "..:..:..",
        "",
    ]
    return [t for t in tokens if t != token]


def is_genuine_beacon(token: str, payload: str) -> bool:
    """The ad's own payload signed for the beacon (at any second) is a real beacon token."""
    try:
        return signing.TimestampSigner(salt=SALTS["impression"]).unsign(token) == payload
    except signing.BadSignature:
        return False


def test_tampered_and_malicious_click_tokens_never_redirect_and_count_nothing(api_client):
    slot = SlotFactory(key="sidebar")
    other = SlotFactory(key="other")
    CreativeFactory(name="Ad", click_url=DESTINATION, slots=[slot, other])
    ad = api_client.get("/api/v1/ads/?slots=sidebar&viewer=v1").json()["slots"]["sidebar"]
    click_path = urlparse(ad["click_url"]).path
    token = click_path.rstrip("/").rsplit("/", 1)[-1]
    payload = signing.TimestampSigner(salt=SALTS["click"]).unsign(token)
    other_payload = payload.replace(f".{slot.pk}.", f".{other.pk}.")
    beacon_token = urlparse(ad["impression_url"]).path.rstrip("/").rsplit("/", 1)[-1]

    tokens = [*_malicious_tokens(token, payload, other_payload), beacon_token]
    assert len(tokens) >= 200
    refused = {"click": 0, "impression": 0}
    for bad in tokens:
        response = api_client.get(
            f"/api/v1/ads/click/{quote(bad, safe='')}/", HTTP_USER_AGENT=BROWSER
        )
        assert response.status_code in (400, 404), bad
        assert not response.has_header("Location"), bad
        refused["click"] += response.status_code == 400
        if not is_genuine_beacon(bad, payload):
            beacon = api_client.get(
                f"/api/v1/ads/impression/{quote(bad, safe='')}/", HTTP_USER_AGENT=BROWSER
            )
            assert beacon.status_code in (400, 404), bad
            refused["impression"] += beacon.status_code == 400
    assert totals() == {"impressions": 0, "clicks": 0, "bot_impressions": 0, "bot_clicks": 0}
    # Each refusal is counted apart as invalid, with nothing named: one hourly row per kind.
    assert apart() == {(kind, "invalid"): n for kind, n in refused.items()}
    assert UncountedCounter.objects.count() == 2
    assert set(UncountedCounter.objects.values_list("creative_id", "slot_id")) == {(0, 0)}

    # The genuine token still works, exactly once.
    response = api_client.get(click_path, HTTP_USER_AGENT=BROWSER)
    assert (response.status_code, response["Location"]) == (302, DESTINATION)
    assert totals()["clicks"] == 1


def test_invalid_token_answers_in_the_api_error_format(api_client, creative):
    response = api_client.get("/api/v1/ads/click/not-a-token/")
    assert response.status_code == 400
    assert response.json() == {
        "status": 400,
        "code": "invalid",
        "detail": "The request is not valid; see errors.",
        "errors": {"token": ["This tracking link is not valid."]},
    }


def test_urls_carry_django_signing_tokens_one_salt_per_purpose(api_client, creative):
    with time_machine.travel(dt.datetime.now(dt.UTC), tick=False):
        beacon, click = serve(api_client, viewer="v1")
        for path, salt in ((beacon, SALTS["impression"]), (click, SALTS["click"])):
            token = path.rstrip("/").rsplit("/", 1)[-1]
            signer = signing.TimestampSigner(salt=salt)
            payload = signer.unsign(token, max_age=60)
            assert token == signer.sign(payload)
            assert payload.endswith(".v1")


def test_rotating_the_secret_key_keeps_served_links_working_through_the_fallbacks(
    api_client, creative, settings
):
    settings.SECRET_KEY = "the-old-key-" + "x" * 40
    _, click = serve(api_client)
    settings.SECRET_KEY = "the-new-key-" + "y" * 40
    assert api_client.get(click, HTTP_USER_AGENT=BROWSER).status_code == 400  # no fallback
    settings.SECRET_KEY_FALLBACKS = ["the-old-key-" + "x" * 40]
    response = api_client.get(click, HTTP_USER_AGENT=BROWSER)
    assert (response.status_code, response["Location"]) == (302, DESTINATION)
    _, fresh = serve(api_client)  # new links are signed with the new key alone
    token = fresh.rstrip("/").rsplit("/", 1)[-1]
    signing.TimestampSigner(salt=SALTS["click"], fallback_keys=[]).unsign(token)


@pytest.mark.skipif(not uses_redis(), reason="needs Redis (set REDIS_URL)")
def test_when_redis_does_not_answer_the_hot_path_counts_in_the_database(
    api_client, creative, redis_down
):
    beacon, click = serve(api_client, viewer="v1")
    with redis_down():
        decision = api_client.get("/api/v1/ads/?slots=sidebar&viewer=v1", HTTP_USER_AGENT=BROWSER)
        assert decision.status_code == 200  # from a snapshot built from the database
        assert decision.json()["slots"]["sidebar"]["creative_id"] == creative.pk
        assert api_client.get(beacon, HTTP_USER_AGENT=BROWSER).status_code == 204
        assert api_client.get(click, HTTP_USER_AGENT=BROWSER).status_code == 302
        assert DeliveryCounter.objects.get().impressions == 1  # in the database at once
        assert api_client.get(beacon, HTTP_USER_AGENT=BROWSER).status_code == 204  # a replay
    redis_back()
    assert api_client.get(beacon, HTTP_USER_AGENT=BROWSER).status_code == 204  # via Redis now
    assert (totals()["impressions"], totals()["clicks"]) == (1, 1)  # its receipt is in the DB
    assert apart()[("impression", "replayed")] == 2


def test_a_previews_beacon_and_click_are_answered_and_counted_apart_as_preview(
    api_client, creative
):
    from random import Random

    from django.utils import timezone

    from sponsors import tracking
    from sponsors.decision import PageContext
    from sponsors.inventory_cache import serve_page

    decision = serve_page(["sidebar"], PageContext(), now=timezone.now(), rng=Random(1))
    beacon, click = tracking.make_tokens(decision.placements["sidebar"], None, preview=True)
    assert (
        api_client.get(f"/api/v1/ads/impression/{beacon}/", HTTP_USER_AGENT=BROWSER).status_code
        == 204
    )
    response = api_client.get(f"/api/v1/ads/click/{click}/", HTTP_USER_AGENT=BROWSER)
    assert (response.status_code, response["Location"]) == (302, DESTINATION)
    assert totals()["impressions"] == totals()["clicks"] == 0
    assert apart() == {("impression", "preview"): 1, ("click", "preview"): 1}
