"""The load test's own pieces, run small (``make loadtest`` needs a server and wrk): its mix
of drivers, and its check that the database holds each event sent exactly once and counted
each replay apart, on real answers sent through the test client."""

from collections import Counter
from urllib.parse import urlparse

import pytest

from bench import inventory, loadtest, reader
from sponsors.counters import get_counters
from sponsors.inventory_cache import forget_memo

pytestmark = pytest.mark.django_db
BROWSER = loadtest.BROWSER_UA


@pytest.fixture
def articles():
    forget_memo()
    inventory.reset_and_load(creatives=12)
    loaded = inventory.load_articles(count=4)
    reader.load_reader_content(loaded)
    yield loaded
    forget_memo()


def test_the_drivers_mix_pages_decisions_and_countdowns_in_their_shares(articles):
    lines = loadtest.driver_lines(articles, ["/api/v1/ads/?slots=leaderboard"], "bench-awards")
    kinds = Counter(line.split("\t", 1)[0] for line in lines)
    total = sum(loadtest.DRIVER_SHARE.values())
    for kind, share in loadtest.DRIVER_SHARE.items():
        assert kinds[kind] == pytest.approx(len(lines) * share / total, rel=0.01)
    assert all(line.split("\t", 1)[1].startswith("/api/v1/") for line in lines)


def _sent_from_pages(api_client, articles, pages: int) -> list[tuple[str, str]]:
    """What mix.lua sends for ``pages`` article pages: each page, then what it hands out."""
    sent = []
    for n in range(pages):
        path = f"/api/v1/pages/articles/{articles[n % len(articles)].slug}/?viewer=v{n}"
        page = api_client.get(path, HTTP_USER_AGENT=BROWSER)
        assert page.status_code == 200
        sent.append(("page", path))
        data = page.json()
        sent.append(("read", urlparse(data["article"]["read_url"]).path))
        for slot in data["ads"]["slots"].values():
            if slot is not None:
                sent.append(("impression", urlparse(slot["impression_url"]).path))
                sent.append(("click", urlparse(slot["click_url"]).path))
    return sent


def _send(api_client, sent: list[tuple[str, str]]) -> None:
    expect = {"impression": 204, "click": 302, "read": 204}
    for kind, path in sent:
        if kind.removesuffix("_replay") in expect:
            answer = api_client.get(path, HTTP_USER_AGENT=BROWSER)
            assert answer.status_code == expect[kind.removesuffix("_replay")]


def test_every_event_sent_is_counted_once_and_replays_apart(api_client, articles):
    reads_before = loadtest.reads_by_article()
    sent = _sent_from_pages(api_client, articles, pages=6)
    events = [(kind, path) for kind, path in sent if kind != "page"]
    sent += [(f"{kind}_replay", path) for kind, path in events[::3]]
    _send(api_client, sent)
    get_counters().flush(recover_after=0)

    expected = loadtest.expected_counts(sent)
    counted = loadtest.database_counts(reads_before)
    assert sum(expected["read"].values()) == 6
    assert sum(expected["impression"].values()) == sum(expected["click"].values()) >= 6
    assert sum(sum(expected[f"{e}_replay"].values()) for e in loadtest.EVENTS) == len(events[::3])
    assert not expected["resent"]
    for key in ("impression", "click", "read", *(f"{e}_replay" for e in loadtest.EVENTS)):
        assert counted[key] == expected[key], key
    assert not counted["apart"]


def test_a_token_sent_twice_outside_the_replays_is_caught(api_client, articles):
    sent = _sent_from_pages(api_client, articles, pages=1)
    assert loadtest.expected_counts([*sent, sent[1]])["resent"] == Counter({"read": 1})
