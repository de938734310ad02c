"""The benchmark's own pieces, run small, so a change to what they call cannot break
``make bench`` unnoticed (the full run needs a server and wrk; these need neither)."""

import time

import pytest

from bench import inventory, run
from sponsors import versions
from sponsors.counters import get_counters
from sponsors.inventory_cache import forget_memo
from sponsors.models import Creative, Slot

pytestmark = pytest.mark.django_db

SENT = {"replayed": 10, "invalid": 5, "expired": 5, "bot": 5, "non_browser": 5}
APART = {"apart_sent": SENT, "apart_counted": dict(SENT)}
READER = {
    "reader_warm_queries": 0,
    "page_warm_queries": 0,
    "article_times": {"cold_ms": 10.0, "uncached_ms": 8.0, "warm_ms": 0.5},
}


@pytest.fixture
def bench_inventory():
    forget_memo()
    yield inventory.reset_and_load(creatives=12)
    forget_memo()


def test_inventory_has_three_slots_and_the_live_creatives_asked_for(bench_inventory):
    assert bench_inventory == {"slots": 3, "live_creatives": 12, "campaigns": 41}


def test_a_second_run_starts_over_after_counts_hourly_and_daily(bench_inventory):
    """What an earlier run counted (rollups included) does not stop the next one loading."""
    from django.utils import timezone

    from sponsors.counters import hour_of, upsert_apart, upsert_delivery
    from sponsors.models import DailyDeliveryCounter, DailyUncountedCounter

    creative = Creative.objects.filter(slots__isnull=False).first()
    slot = creative.slots.first()
    hour = hour_of(timezone.now())
    upsert_delivery({(hour, creative.pk, slot.pk): (5, 1)})
    upsert_apart({(hour, "impression", "bot", creative.pk, slot.pk, 0): 2})
    assert DailyDeliveryCounter.objects.exists() and DailyUncountedCounter.objects.exists()
    assert inventory.reset_and_load(creatives=12)["live_creatives"] == 12
    assert not DailyDeliveryCounter.objects.exists()
    assert not DailyUncountedCounter.objects.exists()


def test_tokens_come_from_real_decisions_and_count_exactly(bench_inventory, api_client):
    decision_paths, beacons, clicks = run.make_tokens(pages=3)
    assert len(decision_paths) == 4096
    assert len(beacons) == len(clicks) == len(set(beacons)) >= 3

    page = api_client.get(decision_paths[0], HTTP_USER_AGENT=run.BROWSER_UA)
    assert page.status_code == 200
    assert set(page.json()["slots"]) == set(inventory.PAGE_SLOTS)
    for path in beacons:
        assert api_client.get(path, HTTP_USER_AGENT=run.BROWSER_UA).status_code == 204
    for path in clicks:
        assert api_client.get(path, HTTP_USER_AGENT=run.BROWSER_UA).status_code == 302

    get_counters().flush(recover_after=0)
    counts = run.database_counts()
    assert (counts["impressions"], counts["clicks"]) == (len(beacons), len(clicks))
    assert (counts["bot_impressions"], counts["bot_clicks"], counts["naive"]) == (0, 0, 0)


def test_scaling_measurement_fills_a_slot_with_the_sizes_asked_for(bench_inventory):
    rows = run.measure_scaling(sizes=(10, 40), iterations=5)
    assert [row["creatives"] for row in rows] == [10, 40]
    assert all(0 < row["median_us"] <= row["p99_us"] for row in rows)


def _runs(decision_rps: float) -> dict[str, list[dict]]:
    rps = {
        "trivial": 1000,
        "decision": decision_rps,
        "beacon": 600,
        "click": 600,
        "read": 600,
        "trending": 700,
        "article": 600,
        "list": 500,
        "topic": 500,
        "insights": 500,
        "countdown": 600,
        "page": 400,
        "not_modified": 750,
        "naive": 200,
    }
    return {
        key: [
            {
                "rps": value,
                "p50_us": 1000,
                "p99_us": 5000,
                "error_total": 0,
                "paired_trivial_rps": 1000,
            }
        ]
        for key, value in rps.items()
    }


@pytest.mark.parametrize(("decision_rps", "passes"), [(520, True), (480, False)])
def test_targets_pass_only_when_every_figure_meets_its_target(decision_rps, passes, capsys):
    results = run.summarise(_runs(decision_rps))
    assert results["decision"]["x_trivial"] == decision_rps / 1000
    assert results["beacon"]["x_naive"] == pytest.approx(3.0)
    counted = {"impressions": 5, "beacons_sent": 5, "clicks": 4, "clicks_sent": 4}
    counted.update(resend_failures=0, billable_unchanged=True, **APART, **READER)
    counted |= {"reads": 3, "reads_sent": 3, "trending_warm_queries": 0}
    scaling = [{"median_us": 80.0}, {"median_us": 100.0}]
    assert run.check_targets(scaling, results, counted) is passes
    verdict = "PASS" if passes else "FAIL"
    assert f"{verdict}  page decision >= 0.5x trivial" in capsys.readouterr().out


def test_a_lost_count_fails_the_run(capsys):
    results = run.summarise(_runs(600))
    counted = {"impressions": 4, "beacons_sent": 5, "clicks": 4, "clicks_sent": 4}
    counted.update(resend_failures=0, billable_unchanged=True, **APART, **READER)
    counted |= {"reads": 3, "reads_sent": 3, "trending_warm_queries": 0}
    assert run.check_targets([], results, counted) is False
    assert "FAIL  flushed impressions == distinct beacons sent" in capsys.readouterr().out


def test_a_reason_counted_other_than_sent_fails_the_run(capsys):
    results = run.summarise(_runs(600))
    counted = {"impressions": 5, "beacons_sent": 5, "clicks": 4, "clicks_sent": 4}
    counted.update(resend_failures=0, billable_unchanged=True, **APART, **READER)
    counted |= {"reads": 3, "reads_sent": 3, "trending_warm_queries": 0}
    counted["apart_counted"] = {**counted["apart_sent"], "expired": 499}
    assert run.check_targets([], results, counted) is False
    assert "FAIL  each reason counted exactly as sent" in capsys.readouterr().out


def test_apart_tokens_are_counted_under_their_reasons(bench_inventory, api_client):
    """The benchmark's known numbers of uncounted events land under their reasons."""
    _, beacons, _ = run.make_tokens(pages=40)
    for path in beacons:
        assert api_client.get(path, HTTP_USER_AGENT=run.BROWSER_UA).status_code == 204
    tokens = run.apart_tokens(beacons)
    agents = {"bot": run.BOT_UA, "non_browser": run.SERVER_LIBRARY_UA}
    for reason, paths in tokens.items():
        for path in paths:
            status = api_client.get(path, HTTP_USER_AGENT=agents.get(reason, run.BROWSER_UA))
            assert status.status_code == (400 if reason in ("invalid", "expired") else 204)
    get_counters().flush(recover_after=0)
    counts = run.database_counts()
    for reason, paths in tokens.items():
        assert counts[f"{reason}_impressions"] == len(paths), reason
    assert counts["impressions"] == len(beacons)


def test_a_lost_read_or_a_warm_trending_query_fails_the_run(capsys):
    results = run.summarise(_runs(600))
    counted = {"impressions": 5, "beacons_sent": 5, "clicks": 4, "clicks_sent": 4}
    counted |= {"reads": 2, "reads_sent": 3, "trending_warm_queries": 1, "resend_failures": 0}
    counted.update(billable_unchanged=True, **APART, **READER)
    assert run.check_targets([], results, counted) is False
    out = capsys.readouterr().out
    assert "FAIL  flushed reads == distinct read tokens sent" in out
    assert "FAIL  trending warm: 0 SQL queries" in out


def test_read_tokens_count_exactly_and_trending_is_warm_with_no_query(bench_inventory, api_client):
    articles = inventory.load_articles(count=4)
    seeded = run.read_total()
    paths = run.make_read_paths(articles, 5)
    assert len(set(paths)) == 5
    for path in paths * 2:  # each sent twice: the replay counts nothing
        assert api_client.get(path, HTTP_USER_AGENT=run.BROWSER_UA).status_code == 204
    get_counters().flush(recover_after=0)
    counts = run.database_counts()
    assert counts["reads"] - seeded == 5
    assert counts["replayed_reads"] == 5
    trending = run.trending_paths()
    assert run.trending_warm_queries(trending) == 0


def test_reader_endpoints_are_warm_with_no_query_and_a_slow_cold_answer_fails(capsys):
    from bench import reader

    articles = inventory.load_articles(count=21)  # a second page of the article list
    reader.load_reader_content(articles)
    paths = reader.reader_paths(articles)
    assert reader.warm_queries([p for group in paths.values() for p in group]) == 0
    line = reader.not_modified_line(paths["article"][0])
    assert line.startswith(paths["article"][0] + '\t"')
    times = reader.article_cold_times(articles[0], samples=2)
    assert 0 < times["warm_ms"] < times["cold_ms"]
    results = run.summarise(_runs(600))
    counted = {"impressions": 5, "beacons_sent": 5, "clicks": 4, "clicks_sent": 4}
    counted.update(resend_failures=0, billable_unchanged=True, **APART)
    counted |= {"reads": 3, "reads_sent": 3, "trending_warm_queries": 0}
    counted |= {
        "reader_warm_queries": 0,
        "page_warm_queries": 0,
        "article_times": {**times, "cold_ms": 3 * times["uncached_ms"]},
    }
    assert run.check_targets([], results, counted) is False
    assert "FAIL  article detail cold <= 2x built without payloads" in capsys.readouterr().out


def test_snapshot_build_is_measured_with_the_sizes_asked_for(bench_inventory):
    rows = run.measure_build(sizes=(30,), repeats=1)
    assert [row["creatives"] for row in rows] == [30]
    assert rows[0]["build_s"] > 0 and rows[0]["memory_mb"] > 0 and rows[0]["pickled_mb"] > 0
    assert not Slot.objects.filter(key="scale-test").exists()


def test_after_save_measurement_saves_while_the_load_runs(bench_inventory):
    seen = []

    def load(seconds):
        seen.append((seconds, versions.current(versions.INVENTORY)))
        time.sleep(0.5)  # the save lands meanwhile
        return {"p99_us": 1000 * len(seen), "rps": 100, "error_total": 0}

    result = run.measure_after_save(load, size=20, seconds=1, rounds=2)
    assert [s for s, _ in seen] == [3, 1, 1, 1, 1]
    assert seen[0][1] == seen[1][1] == seen[2][1]  # warm-up and steady: no save
    assert seen[2][1] != seen[3][1] == seen[4][1]  # the first save came during the third
    assert versions.current(versions.INVENTORY) != seen[4][1]  # the second during the fifth
    assert result["creatives"] == 20 and len(result["rounds"]) == 2
    assert result["x_steady"] == pytest.approx((3 / 2 + 5 / 4) / 2)
    assert not Creative.objects.filter(name__startswith="Scale ").exists()


@pytest.mark.parametrize(
    ("build_s", "memory_mb", "after_p99", "passes"),
    [
        (0.6, 12, 9000, True),
        (2.5, 12, 9000, False),  # build too slow
        (0.6, 60, 9000, False),  # snapshot too big
        (0.6, 12, 11000, False),  # p99 after the save over twice the steady p99
    ],
)
def test_snapshot_targets_pass_only_when_each_is_met(build_s, memory_mb, after_p99, passes):
    builds = [{"creatives": 10_000, "build_s": build_s, "memory_mb": memory_mb}]
    after_save = {"x_steady": after_p99 / 5000, "error_total": 0}
    assert all(ok for _, ok in run.snapshot_checks(builds, after_save)) is passes


def test_the_feature_articles_page_is_warm_with_no_query_and_a_slow_page_fails(
    bench_inventory, capsys
):
    from bench import reader

    articles = inventory.load_articles(count=12)
    reader.load_reader_content(articles)
    feature = reader.feature_article(articles)
    paths = reader.page_paths(feature, viewers=20)
    assert len(set(paths)) > 1 and all(
        p.startswith(f"/api/v1/pages/articles/{feature.slug}/?viewer=") for p in paths
    )
    assert reader.warm_queries(paths) == 0
    results = run.summarise({**_runs(600), "page": _runs(290)["decision"]})
    counted = {"impressions": 5, "beacons_sent": 5, "clicks": 4, "clicks_sent": 4}
    counted.update(resend_failures=0, billable_unchanged=True, **APART, **READER)
    counted |= {"reads": 3, "reads_sent": 3, "trending_warm_queries": 0, "page_warm_queries": 2}
    assert run.check_targets([], results, counted) is False
    out = capsys.readouterr().out
    assert "FAIL  article page (warm) >= 0.3x trivial" in out
    assert "FAIL  article page warm: 0 SQL queries" in out
