"""User-Agent verdicts: people and their apps bill, server libraries count apart, bots never."""

import random
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from crawlerdetect import CrawlerDetect
from crawlerdetect.providers.crawlers import data as crawler_patterns
from django.test import override_settings

from sponsors import user_agents
from sponsors.apps import user_agent_settings_check
from sponsors.tracking import event_reason
from sponsors.user_agents import BILLABLE, BOT, NON_BROWSER, Verdict, is_crawler, verdict

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
CURL = "curl/8.5.0"

SERVER_LIBRARIES = {
    "axios": "axios/1.7.7",
    "node-fetch": "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
    "node-fetch 3": "node-fetch",
    "undici": "undici",
    "Node fetch": "node",
    "got": "got (https://github.com/sindresorhus/got)",
    "superagent": "node-superagent/3.8.3",
    "Deno": "Deno/1.46.3",
    "Bun": "Bun/1.1.30",
    "httpx": "python-httpx/0.27.2",
    "requests": "python-requests/2.32.3",
    "urllib": "Python-urllib/3.12",
    "urllib3": "python-urllib3/2.2.3",
    "aiohttp": "Python/3.12 aiohttp/3.10.10",
    "curl": CURL,
    "libcurl": "libcurl/8.5.0",
    "wget": "Wget/1.24.5",
    "HTTPie": "HTTPie/3.2.3",
    "Postman": "PostmanRuntime/7.42.0",
    "Insomnia": "insomnia/10.1.1",
    "Go": "Go-http-client/1.1",
    "Go HTTP/2": "Go-http-client/2.0",
    "Java": "Java/17.0.12",
    "Java HttpClient": "Java-http-client/21.0.4",
    "Apache HttpClient": "Apache-HttpClient/4.5.14 (Java/17.0.12)",
    "Apache HttpClient 5": "Apache-HttpClient/5.3.1 (Java/21.0.4)",
    "libwww-perl": "libwww-perl/6.77",
    "Guzzle": "GuzzleHttp/7",
    "PHP": "PHP/8.3.12",
    "Symfony": "Symfony HttpClient (Native)",
    "Ruby": "Ruby",
    "Faraday": "Faraday v2.12.0",
    "reqwest": "reqwest/0.12.8",
}

NATIVE_APP_CLIENTS = {
    "OkHttp": "okhttp/4.12.0",
    "OkHttp, React Native": "okhttp/3.12.12",
    "OkHttp behind the app's name": "NewsApp/5.2.0 (Android 14) okhttp/4.12.0",
    "Dalvik": "Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8 Build/UQ1A.240205.004)",
    "CFNetwork, iOS": "NewsApp/1.0 CFNetwork/1494.0.7 Darwin/23.4.0",
    "CFNetwork, macOS": "NewsApp/2.3 (Macintosh; OS X/14.4.1) CFNetwork/1494.0.7 Darwin/23.4.0",
    "Alamofire": "NewsApp/1.0 (com.example.news; build:42; iOS 17.4.1) Alamofire/5.9.1",
    "Cronet": "com.example.news/1.0 (Linux; U; Android 14; en_US; Pixel 8; Cronet/121.0.6167.71)",
    "Flutter": "Dart/3.5 (dart:io)",
}

BOTS = {
    "Googlebot": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Googlebot smartphone": (
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/131.0.6778.69 Mobile Safari/537.36 "
        "(compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    ),
    "Bingbot": "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "GPTBot": (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; "
        "+https://openai.com/gptbot)"
    ),
    "facebookexternalhit": (
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"
    ),
    "Slack link expander": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Twitterbot": "Twitterbot/1.0",
    "AhrefsBot": "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "LinkedIn previewer, naming its HTTP library": (
        "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)"
    ),
    "iMessage previewer": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like "
        "Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0"
    ),
    "WhatsApp previewer": "WhatsApp/2.23.20.0 A",
    "headless Chrome": (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/131.0.6778.85 Safari/537.36"
    ),
    "Lighthouse": (
        "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like "
        "Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse"
    ),
    "Google PageSpeed (ours: crawlerdetect misses it)": (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/41.0.2272.118 Safari/537.36 Google-PageSpeed"
    ),
    "UptimeRobot": "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
    "Pingdom": "Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)",
    "a monitor (ours: crawlerdetect misses it)": "Mozilla/5.0 (compatible; ServerMonitor/2.0)",
    "synthetic monitoring (ours: crawlerdetect misses it)": "Datadog/Synthetics",
    "Scrapy": "Scrapy/2.11.2 (+https://scrapy.org)",
}

# Real agents of people, none of which may ever count as a bot.
PEOPLE = {
    "Chrome, Windows": CHROME_WINDOWS,
    "Chrome, macOS": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36"
    ),
    "Chrome, Android": (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Mobile Safari/537.36"
    ),
    "Chrome, iOS": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1"
    ),
    "Firefox, Windows": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
    ),
    "Firefox, macOS": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0"
    ),
    "Firefox, Linux": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Firefox, Android": "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0",
    "Firefox, iOS": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15"
    ),
    "Safari, macOS": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Version/18.1 Safari/605.1.15"
    ),
    "Safari, iOS": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
    ),
    "Safari, iPad": (
        "Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.7 Mobile/15E148 Safari/604.1"
    ),
    "Edge, Windows": CHROME_WINDOWS + " Edg/131.0.2903.70",
    "Edge, macOS": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70"
    ),
    "Edge, Android": (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Mobile Safari/537.36 EdgA/131.0.2903.68"
    ),
    "Edge, iOS": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Version/17.0 EdgiOS/131.2903.68 Mobile/15E148 Safari/605.1.15"
    ),
    "Samsung Internet": (
        "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S921B) AppleWebKit/537.36 (KHTML, like "
        "Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36"
    ),
    "Opera, Windows": CHROME_WINDOWS.replace("131", "130") + " OPR/115.0.0.0",
    "Opera, Android": (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.0.0 Mobile Safari/537.36 OPR/86.0.4363.59223"
    ),
    "Chromebook": (
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36"
    ),
    "a phone whose model has 'bot' in it": (
        "Mozilla/5.0 (Linux; Android 10; CUBOT_X30 Build/QP1A.190711.020) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
    ),
    "Android WebView": (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UQ1A.240205.004; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/131.0.6778.81 Mobile Safari/537.36"
    ),
    "Facebook, Android": (
        "Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/131.0.6778.81 Mobile Safari/537.36 "
        "[FB_IAB/FB4A;FBAV/489.0.0.66.81;]"
    ),
    "Facebook, iOS": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/489.0.0.35.101;FBBV/660588823;"
        "FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/17.7;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5]"
    ),
    "Messenger, iOS": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Mobile/15E148 [FBAN/MessengerForiOS;FBAV/450.0.0.40.109]"
    ),
    "Instagram, iOS": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Mobile/15E148 Instagram 357.0.0.25.101 (iPhone15,2; iOS 17_7; en_US; en; "
        "scale=3.00; 1179x2556; 659470818)"
    ),
    "Instagram, Android": (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UQ1A.240205.004; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/131.0.6778.81 Mobile Safari/537.36 Instagram "
        "357.0.0.44.101 Android (34/14; 420dpi; 1080x2205; Google/google; Pixel 8; shiba; shiba; "
        "en_US; 656870151)"
    ),
    "LinkedIn app, iOS": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Mobile/15E148 [LinkedInApp]/9.30.1236"
    ),
    "LinkedIn app, Android": (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UQ1A.240205.004; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/131.0.6778.81 Mobile Safari/537.36 "
        "[LinkedInApp]/4.1.1005"
    ),
    "TikTok, Android": (
        "Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/131.0.6778.81 Mobile Safari/537.36 "
        "musical_ly_2023708030 JsSdk/1.0 NetType/WIFI Channel/googleplay AppName/musical_ly "
        "app_version/37.8.3 ByteLocale/en ByteFullLocale/en Region/US AppId/1233 "
        "Spark/1.6.0.4-bugfix AppVersion/37.8.3 BytedanceWebview/d8a21c6"
    ),
    "TikTok, iOS": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Mobile/15E148 musical_ly_37.8.0 JsSdk/2.0 NetType/WIFI Channel/App Store "
        "ByteLocale/en Region/US isDarkMode/0 WKWebView/1 BytedanceWebview/d8a21c6"
    ),
    "Pinterest app (the old list called it a bot)": (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Mobile Safari/537.36 [Pinterest/Android]"
    ),
    "Snapchat": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Mobile/15E148 Snapchat/13.17.0.35 (like Safari/8617.1.17.10.9, panda)"
    ),
    "Google app, iOS": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) GSA/343.0.695551749 Mobile/15E148 Safari/604.1"
    ),
}


def named(cases: dict[str, str]):
    return pytest.mark.parametrize("user_agent", list(cases.values()), ids=list(cases))


@named(SERVER_LIBRARIES)
def test_server_libraries_are_non_browser_clients(user_agent):
    assert verdict(user_agent) == NON_BROWSER
    assert event_reason(user_agent=user_agent) == "non_browser"  # counted apart, not billed


@named(NATIVE_APP_CLIENTS)
def test_native_app_clients_bill(user_agent):
    assert verdict(user_agent) == BILLABLE
    assert event_reason(user_agent=user_agent) is None


@pytest.mark.parametrize(
    "user_agent",
    [
        "okhttp/4.12.0",
        "Dart/3.5 (dart:io)",
        NATIVE_APP_CLIENTS["Cronet"],  # "Cronet" holds crawlerdetect's "cron"
        CURL,
        "python-requests/2.32.3",
        "axios/1.7.7",
    ],
)
def test_crawlerdetect_alone_would_call_these_crawlers(user_agent):
    """Why app stacks and server libraries are decided before crawlerdetect is asked."""
    assert CrawlerDetect().is_crawler(user_agent)
    assert verdict(user_agent) != BOT


@pytest.mark.parametrize(
    "user_agent",
    [NATIVE_APP_CLIENTS["Dalvik"], NATIVE_APP_CLIENTS["CFNetwork, iOS"]],
)
def test_crawlerdetect_alone_already_passes_dalvik_and_cfnetwork(user_agent):
    assert not CrawlerDetect().is_crawler(user_agent)


@named(BOTS)
def test_bots(user_agent):
    assert verdict(user_agent) == BOT
    assert event_reason(user_agent=user_agent) == "bot"


@pytest.mark.parametrize("user_agent", [None, "", " ", "\t"])
def test_a_missing_or_blank_user_agent_is_a_bot(user_agent):
    assert verdict(user_agent) == BOT
    assert event_reason(user_agent=user_agent) == "bot"


@named(PEOPLE)
def test_people_and_their_apps_are_never_bots(user_agent):
    assert verdict(user_agent) == BILLABLE
    assert event_reason(user_agent=user_agent) is None


def test_enough_real_browsers_and_in_app_browsers_are_checked():
    assert len(PEOPLE) >= 15


def test_verdicts_are_their_strings_and_have_labels():
    assert [v.value for v in Verdict] == ["billable", "non_browser", "bot"]
    assert verdict(CURL) == "non_browser"
    assert NON_BROWSER.label == "non-browser client"


# --- The setting -------------------------------------------------------------------------


def test_the_setting_makes_a_server_library_bill(settings):
    settings.ADS_USER_AGENT_VERDICTS = {"billable": ["python-requests/"]}
    assert verdict("python-requests/2.32.3") == BILLABLE
    assert verdict(CURL) == NON_BROWSER  # the rest as before


def test_the_setting_makes_a_browser_like_agent_a_bot(settings):
    monitor = CHROME_WINDOWS + " PartnerWatch/2.1"
    assert verdict(monitor) == BILLABLE
    settings.ADS_USER_AGENT_VERDICTS = {"bot": ["partnerwatch/"]}
    assert verdict(monitor) == BOT
    assert verdict(monitor.upper()) == BOT  # case-insensitive


def test_the_setting_can_bill_an_agent_crawlerdetect_calls_a_bot_and_vice_versa(settings):
    settings.ADS_USER_AGENT_VERDICTS = {
        "billable": ["slackbot-linkexpanding"],
        "non_browser": ["newsapp/"],
    }
    assert verdict(BOTS["Slack link expander"]) == BILLABLE
    assert verdict(NATIVE_APP_CLIENTS["CFNetwork, iOS"]) == NON_BROWSER


def test_substrings_are_not_regexes(settings):
    settings.ADS_USER_AGENT_VERDICTS = {"bot": [".*"]}
    assert verdict(CHROME_WINDOWS) == BILLABLE
    assert verdict("Mozilla/5.0 .* oops") == BOT


def test_within_the_setting_bot_beats_non_browser_beats_billable(settings):
    agent = "PartnerApp/1.0 okhttp/4.12.0 PartnerCheck"
    settings.ADS_USER_AGENT_VERDICTS = {"billable": ["partnerapp"], "non_browser": ["okhttp"]}
    assert verdict(agent) == NON_BROWSER
    settings.ADS_USER_AGENT_VERDICTS = {
        "billable": ["partnerapp"],
        "non_browser": ["okhttp"],
        "bot": ["partnercheck"],
    }
    assert verdict(agent) == BOT


def test_the_old_extra_bot_patterns_setting_still_adds_bots(settings):
    settings.ADS_EXTRA_BOT_PATTERNS = ["InternalScreenshotter"]
    assert verdict(CHROME_WINDOWS + " internalscreenshotter/1.0") == BOT
    assert verdict("okhttp/4.12.0 InternalScreenshotter") == BOT  # before the app stacks


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"bots": ["x"]}, "unknown verdict"),
        ({"bot": "partnerwatch"}, "must be a list"),
        ({"bot": ["ok", ""]}, "non-empty strings"),
        (["bot"], "must be a dict"),
    ],
)
def test_a_mistaken_setting_is_refused_by_the_check_and_ignored_by_beacons(
    settings, value, message
):
    settings.ADS_USER_AGENT_VERDICTS = value
    errors = user_agent_settings_check()
    assert [e.id for e in errors] == ["sponsors.E001"]
    assert message in errors[0].msg
    # Serving goes on with the built-in rules: never a 500 for a beacon.
    assert verdict(CHROME_WINDOWS + " never-seen-before") == BILLABLE
    assert verdict("Googlebot/2.1") == BOT


def test_good_settings_pass_the_check(settings):
    settings.ADS_USER_AGENT_VERDICTS = {"billable": ["NewsApp/"], "bot": ["PartnerWatch"]}
    assert user_agent_settings_check() == []


# --- The cache ----------------------------------------------------------------------------


def test_a_repeated_agent_is_classified_once():
    agent = CHROME_WINDOWS + " repeated"
    verdict(agent)
    before = user_agents._classify.cache_info()
    for _ in range(10):
        assert verdict(agent) == BILLABLE
    after = user_agents._classify.cache_info()
    assert (after.hits - before.hits, after.misses - before.misses) == (10, 0)
    assert after.maxsize == user_agents.VERDICT_CACHE_SIZE


def test_the_cache_is_emptied_when_the_setting_changes():
    assert verdict(CURL) == NON_BROWSER
    assert user_agents._classify.cache_info().currsize > 0
    with override_settings(ADS_USER_AGENT_VERDICTS={"billable": ["curl/"]}):
        assert user_agents._classify.cache_info().currsize == 0
        assert verdict(CURL) == BILLABLE
    assert user_agents._classify.cache_info().currsize == 0  # emptied again on the way out
    assert verdict(CURL) == NON_BROWSER
    with override_settings(ADS_EXTRA_BOT_PATTERNS=["curl"]):
        assert verdict(CURL) == BOT


def test_other_settings_leave_the_cache_alone(settings):
    verdict(CURL)
    size = user_agents._classify.cache_info().currsize
    settings.ADS_BEACON_MAX_AGE = 60
    assert user_agents._classify.cache_info().currsize == size


def test_threads_share_the_classifier():
    agents = [*PEOPLE.values(), *BOTS.values(), *SERVER_LIBRARIES.values()]
    expected = [verdict(agent + " threaded") for agent in agents]
    user_agents._classify.cache_clear()
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            assert list(pool.map(lambda a: verdict(a + " threaded"), agents)) == expected


# --- Over-long agents ----------------------------------------------------------------------


def test_only_the_first_characters_of_a_huge_agent_are_read(monkeypatch):
    """A 100 KB header is classified on its first MAX_USER_AGENT_LENGTH characters."""
    cap = user_agents.MAX_USER_AGENT_LENGTH
    assert 500 <= cap <= 1024
    huge = CHROME_WINDOWS + " (" + "a" * 100_000 + ") Googlebot/2.1"
    seen: list[str] = []
    classify = user_agents._classify
    monkeypatch.setattr(
        user_agents, "_classify", lambda agent: seen.append(agent) or classify(agent)
    )
    crawler_inputs: list[int] = []
    check = user_agents.is_crawler
    monkeypatch.setattr(
        user_agents, "is_crawler", lambda agent: crawler_inputs.append(len(agent)) or check(agent)
    )
    assert verdict(huge) == BILLABLE  # the bot's name lies beyond what is read
    assert seen == [huge[:cap]]
    assert crawler_inputs == [cap]
    assert verdict("Googlebot/2.1 " + "a" * 100_000) == BOT
    assert all(len(agent) == cap for agent in seen)


def test_huge_agents_do_not_flood_the_cache_with_huge_keys():
    for n in range(3):
        verdict(f"{n} " + "x" * 100_000)
    cap = user_agents.MAX_USER_AGENT_LENGTH
    assert verdict("0 " + "x" * 200_000) == verdict(("0 " + "x" * 100_000)[:cap])


# --- Equal to crawlerdetect ---------------------------------------------------------------

ALL_SAMPLES = [
    *SERVER_LIBRARIES.values(),
    *NATIVE_APP_CLIENTS.values(),
    *BOTS.values(),
    *PEOPLE.values(),
]


def literal(pattern: str) -> str | None:
    """The text a crawlerdetect pattern matches, if it is a plain string."""
    text = re.sub(r"\\(.)", r"\1", pattern.lstrip("^").rstrip("$"))
    if re.search(r"[\[\]()|*+?{}.]", text):
        return None
    return text


def test_is_crawler_answers_what_crawlerdetect_answers_for_every_sample():
    detector = CrawlerDetect()
    assert [is_crawler(a) for a in ALL_SAMPLES] == [detector.is_crawler(a) for a in ALL_SAMPLES]


def test_is_crawler_finds_every_plain_crawlerdetect_name():
    detector = CrawlerDetect()
    names = [name for p in crawler_patterns if (name := literal(p))]
    assert len(names) > 1000
    for name in names:
        for agent in (name, f"Mozilla/5.0 (compatible; {name}/1.0)", f"{name.lower()} x"):
            assert is_crawler(agent) == detector.is_crawler(agent), agent


def test_is_crawler_agrees_with_crawlerdetect_on_mixtures():
    detector = CrawlerDetect()
    rng = random.Random(11)
    pieces = [
        *(a.split(" ")[0] for a in ALL_SAMPLES),
        *(name for p in crawler_patterns[::7] if (name := literal(p))),
        *["Mozilla/5.0", "(compatible;", "Safari/537.36", "Ruby", "Java", "x", "0", "-", "_"],
        *[" ", ";", "/", "(", ")", "Cubot", "HeadlessChrome", "monitoring", "outbrain"],
    ]
    for _ in range(3000):
        sep = rng.choice(["", " ", "; "])
        agent = sep.join(rng.choices(pieces, k=rng.randint(1, 6)))
        assert is_crawler(agent) == detector.is_crawler(agent), agent
