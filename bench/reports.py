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
import subprocess
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
# (grouping, days) of the CSV memory runs: 200 creatives give 1,000, 10,000, 100,800 and
# 1,003,200 rows.
CSV_RUNS = (
    ("creative_by_day", 5),
    ("creative_by_day", 50),
    ("creative_by_hour", 21),
    ("creative_by_hour", 209),
)


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
    call_command("collectstatic", verbosity=0, interactive=False)  # DEBUG=0: the manifest


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
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user, _ = User.objects.get_or_create(username="bench-adops", defaults={"is_staff": True})
    user.groups.add(Group.objects.get(name="Ad ops"))
    client = Client()
    client.force_login(user)
    # DEBUG=0 requires Ad ops' second factor: the session holds a verified device, as a
    # sign-in with a code from it would leave.
    device, _ = TOTPDevice.objects.get_or_create(user=user, name="bench", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
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
        "the report page, a year by campaign (admin)": timed(
            lambda: get_page(
                client,
                f"/admin/sponsors/deliveryreport/?start={first}&end={last}&group_by=campaign",
            )
        ),
        "the campaign list with pacing (admin)": timed(
            lambda: get_page(client, "/admin/sponsors/campaign/")
        ),
        "90 days by day, as chart data": timed(
            lambda: chart_series(
                delivery_report(start=last - dt.timedelta(days=89), end=last, group_by="day")
            )
        ),
    }
    return results


def rss_mb() -> float:
    """This process's resident memory now (Linux ``/proc``), in MB."""
    with open("/proc/self/statm") as statm:
        resident = int(statm.read().split()[1])
    return resident * os.sysconf("SC_PAGE_SIZE") / 2**20


def csv_child(group_by: str, days: int) -> dict:
    """In this (fresh) process: stream the CSV of ``days`` local days up to yesterday by
    ``group_by``; its lines, bytes and time, and the process's resident memory just before
    and at its highest while streaming (sampled every 1,000 lines)."""
    from sponsors.reports import report_csv

    _, last = year_range()
    first = last - dt.timedelta(days=days - 1)
    warm = report_csv(start=last, end=last, group_by=group_by)
    sum(len(line) for line in warm)  # imports, connections, compiled queries: not rows
    before = peak = rss_mb()
    began = time.perf_counter()
    lines = size = 0
    for line in report_csv(start=first, end=last, group_by=group_by):
        lines += 1
        size += len(line)
        if lines % 1000 == 0:
            peak = max(peak, rss_mb())
    seconds = time.perf_counter() - began
    return {
        "group_by": group_by,
        "days": days,
        "rows": lines - 2,  # the header and the totals line
        "bytes": size,
        "seconds": seconds,
        "rss_before_mb": before,
        "rss_peak_mb": max(peak, rss_mb()),
    }


def measure_csv(group_by: str, days: int) -> dict:
    """:func:`csv_child` in a fresh process, so each size's peak is its own."""
    out = subprocess.run(
        [sys.executable, __file__, "--csv-child", group_by, str(days)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reseed", action="store_true", help="Seed again even if seeded.")
    parser.add_argument(
        "--csv-child", nargs=2, metavar=("GROUP_BY", "DAYS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    url = configure()
    if args.csv_child:
        import django

        sys.path.insert(0, str(ROOT))
        django.setup()
        print(json.dumps(csv_child(args.csv_child[0], int(args.csv_child[1]))))
        return 0
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
    year = measure_csv("creative_by_day", DAYS)
    log(
        f"CSV of a year by creative by day: {year['rows']:,} rows, {year['bytes'] / 1e6:.1f} MB "
        f"in {year['seconds']:.2f} s, resident memory at most {year['rss_peak_mb']:.1f} MB"
    )
    sizes = []
    for group_by, days in CSV_RUNS:
        run = measure_csv(group_by, days)
        run["growth_mb"] = run["rss_peak_mb"] - run["rss_before_mb"]
        sizes.append(run)
        log(
            f"CSV {group_by}, {days} days: {run['rows']:,} rows in {run['seconds']:.2f} s, "
            f"resident at most {run['rss_peak_mb']:.1f} MB (+{run['growth_mb']:.1f} MB streaming)"
        )
    peaks = [run["rss_peak_mb"] for run in sizes]
    spread = max(peaks) - min(peaks)
    log(
        f"CSV resident memory at its highest, from {sizes[0]['rows']:,} to "
        f"{sizes[-1]['rows']:,} rows: "
        f"{min(peaks):.1f}-{max(peaks):.1f} MB (spread {spread:.1f} MB)"
    )
    checks.append(
        (
            f"CSV memory flat (peak within {MEMORY_FLAT_MB:g} MB) from "
            f"{sizes[0]['rows']:,} to {sizes[-1]['rows']:,} rows",
            spread <= MEMORY_FLAT_MB and sizes[-1]["rows"] >= 1_000_000,
        )
    )
    print()
    for label, ok in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {label}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
