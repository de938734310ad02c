#!/usr/bin/env python3
"""Ad-serving benchmark: ``make bench`` (or ``.venv/bin/python bench/run.py``).

1. Production-like settings: DEBUG=0, a random SECRET_KEY, PostgreSQL and Redis when they
   answer on 127.0.0.1 (``BENCH_DATABASE_URL``, ``BENCH_REDIS_URL``), else SQLite and
   local memory.
2. Loads the benchmark inventory (3 slots, 200 live creatives, targeting, caps, pacing).
3. Measures the decision in-process with 10, 100, 1,000 and 10,000 live creatives in a slot.
4. Starts the production server on 127.0.0.1 and drives it with wrk (installed with apt-get
   when missing and running as root; else a small Python load generator) at 64 connections:
   the trivial JSON view (``/api/v1/health/``), the page decision (3 slots), the impression
   beacon, the click redirect, the article read beacon, trending, the reader's endpoints,
   the feature article's page (``/api/v1/pages/articles/<slug>/``) and a naive per-event
   database update (benchmark URLs only), with ``ads_flush --every 1`` running beside, as in
   production.
5. Flushes, checks that the counts in the database equal the beacons and clicks sent, and
   prints each endpoint's requests/s, p50, p99, errors and ratio to the trivial view, then
   the targets with PASS/FAIL (exit status 1 if one is missed).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench-results"
PAGE_SLOTS = "sitewide-strip,leaderboard,article-sidebar"
BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


# ---------------------------------------------------------------------------------------------
# Environment


def _postgres_url() -> str | None:
    url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ads_bench")
    if not url.startswith("postgres"):
        return url
    try:
        import psycopg
    except ImportError:
        return None
    name = url.rsplit("/", 1)[-1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    try:
        with psycopg.connect(admin, connect_timeout=3, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001 - any failure means "no PostgreSQL here"
        log(f"PostgreSQL not available ({exc.__class__.__name__}); using SQLite.")
        return None
    return url


def _redis_url() -> str | None:
    url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "no Redis here"
        log(f"Redis not available ({exc.__class__.__name__}); using local memory + database.")
        return None
    return url


def configure() -> dict[str, str]:
    OUT.mkdir(exist_ok=True)
    database = _postgres_url() or f"sqlite:///{OUT / 'bench.sqlite3'}"
    redis_url = _redis_url() or ""
    env = {
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": database,
        "DB_CONN_MAX_AGE": "600",
        "REDIS_URL": redis_url,
        "CACHE_KEY_PREFIX": "bench",
        "MEDIA_ROOT": str(OUT / "media"),
        "STATIC_ROOT": str(OUT / "static"),
        "LOG_LEVEL": "ERROR",
        # No line per request on the terminal (errors and 4xx/5xx still are): the figures are
        # the app's, a log shipper's cost is the install's (README "Logs" measures the line).
        "LOG_REQUESTS": "0",
    }
    os.environ.update(env)
    return env


def ensure_wrk(allow_install: bool) -> str | None:
    path = shutil.which("wrk")
    if path or not allow_install:
        return path
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("wrk is missing: installing it with apt-get (Debian package 'wrk').")
        subprocess.run(
            "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk",
            shell=True,
            check=False,
            stdout=subprocess.DEVNULL,
        )
    return shutil.which("wrk")


# ---------------------------------------------------------------------------------------------
# In-process measurements (Django set up in this process)


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    call_command("collectstatic", verbosity=0, interactive=False)


def measure_scaling(sizes=(10, 100, 1_000, 10_000), iterations=3000) -> list[dict]:
    """Median in-process time of one decision for a slot with N live creatives."""
    # Project modules load only after setup_django() has chosen the database: imported here.
    from django.utils import timezone

    from bench.inventory import TOPICS, add_creatives, page_contexts
    from cms.models import Topic
    from sponsors.counters import get_counters
    from sponsors.decision import PageContext, decide
    from sponsors.inventory_cache import build_inventory
    from sponsors.models import Campaign, Creative, Slot

    rng = random.Random(7)
    slot, _ = Slot.objects.get_or_create(
        key="scale-test", defaults={"name": "Scaling", "width": 300, "height": 250}
    )
    campaigns = list(Campaign.objects.exclude(name="Bench house").order_by("pk"))
    templates = {(300, 250): Creative.objects.get(name="Template 300x250")}

    topics = list(Topic.objects.filter(slug__in=TOPICS))
    contexts = page_contexts(rng, 256)
    counters = get_counters()
    results = []
    for size in sizes:
        Creative.objects.filter(name__startswith="Scale ").delete()
        add_creatives(
            slot=slot,
            count=size,
            campaigns=campaigns,
            templates=templates,
            topics=topics,
            rng=rng,
            prefix="Scale",
        )
        inventory = build_inventory(slot_keys=["scale-test"])
        live = len(
            {
                entry.id
                for pool in inventory.slots["scale-test"].pools
                for weighted in (pool.everywhere, *pool.by_topic.values())
                for entry in weighted.entries
            }
        )
        now = timezone.now()
        draw = random.Random(11)
        timings = []
        for n in range(iterations):
            context = PageContext(topics=contexts[n % len(contexts)], viewer=f"viewer-{n % 500}")
            start = time.perf_counter()
            decide(inventory, ["scale-test"], context, now=now, counters=counters, rng=draw)
            timings.append(time.perf_counter() - start)
        results.append(
            {
                "creatives": live,
                "median_us": statistics.median(timings) * 1e6,
                "p99_us": sorted(timings)[int(len(timings) * 0.99)] * 1e6,
            }
        )
        log(f"decision with {live:>6,} live creatives in a slot: {results[-1]['median_us']:.0f} µs")
    Creative.objects.filter(name__startswith="Scale ").delete()
    slot.delete()
    return results


def fill_scale_slot(size: int, rng: random.Random) -> None:
    """The benchmark's one-slot inventory of ``size`` more live creatives (``scale-test``)."""
    # Project modules load only after setup_django() has chosen the database: imported here.
    from bench.inventory import TOPICS, add_creatives
    from cms.models import Topic
    from sponsors.models import Campaign, Creative, Slot

    slot, _ = Slot.objects.get_or_create(
        key="scale-test", defaults={"name": "Scaling", "width": 300, "height": 250}
    )
    Creative.objects.filter(name__startswith="Scale ").delete()
    add_creatives(
        slot=slot,
        count=size,
        campaigns=list(Campaign.objects.exclude(name="Bench house").order_by("pk")),
        templates={(300, 250): Creative.objects.get(name="Template 300x250")},
        topics=list(Topic.objects.filter(slug__in=TOPICS)),
        rng=rng,
        prefix="Scale",
    )


def empty_scale_slot() -> None:
    # Project modules load only after setup_django() has chosen the database: imported here.
    from sponsors import versions
    from sponsors.models import Creative, Slot

    Creative.objects.filter(name__startswith="Scale ").delete()
    Slot.objects.filter(key="scale-test").delete()
    versions.bump(versions.INVENTORY)  # queryset deletes bump nothing


def measure_build(sizes=(1_000, 10_000), repeats=3) -> list[dict]:
    """The snapshot of the benchmark inventory plus N live creatives in one slot, in-process:
    build time (median of ``repeats``), memory of the built snapshot (tracemalloc, after a
    collection), pickled size (as the cache stores it) and unpickle time (median)."""
    # Project modules load only after setup_django() has chosen the database: imported here.
    import gc
    import pickle
    import tracemalloc

    from sponsors.inventory_cache import build_inventory

    rng = random.Random(17)
    rows = []
    for size in sizes:
        fill_scale_slot(size, rng)
        build_inventory()  # warm: imports, the database's caches
        builds = []
        for _ in range(repeats):
            start = time.perf_counter()
            build_inventory()
            builds.append(time.perf_counter() - start)
        gc.collect()
        tracemalloc.start()
        inventory = build_inventory()
        gc.collect()
        memory = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        data = pickle.dumps(inventory, pickle.HIGHEST_PROTOCOL)
        loads = []
        for _ in range(repeats):
            start = time.perf_counter()
            pickle.loads(data)
            loads.append(time.perf_counter() - start)
        rows.append(
            {
                "creatives": len(
                    {e.id for pool in inventory.slots["scale-test"].pools for e in _entries(pool)}
                ),
                "build_s": statistics.median(builds),
                "builds_s": builds,
                "memory_mb": memory / 1e6,
                "pickled_mb": len(data) / 1e6,
                "unpickle_s": statistics.median(loads),
            }
        )
        log(
            f"snapshot with {rows[-1]['creatives']:,} creatives in a slot: build "
            f"{rows[-1]['build_s']:.2f} s, {rows[-1]['memory_mb']:.1f} MB"
        )
        del inventory, data
    empty_scale_slot()
    return rows


def _entries(pool) -> list:
    return [e for weighted in (pool.everywhere, *pool.by_topic.values()) for e in weighted.entries]


SAVE_SECONDS = 10
SAVE_ROUNDS = 3


def measure_after_save(
    load, size: int = 10_000, seconds: int = SAVE_SECONDS, rounds: int = SAVE_ROUNDS
) -> dict:
    """The page decision's p99 in the ``seconds`` after an inventory save, next to its p99
    over as long without saves just before, with ``size`` live creatives in one of the
    page's slots; ``rounds`` such pairs, and the median of their ratios (load from elsewhere
    on the machine weighs on both runs of a pair alike).

    ``load(seconds)`` drives the server with the decision paths of ``snapshot_paths()`` (in a
    thread). The save (one creative's weight, through the model: it bumps the version) is
    made here 0.25 s into the run, once every connection is open.
    """
    # Project modules load only after setup_django() has chosen the database: imported here.
    from sponsors import versions
    from sponsors.models import Creative

    fill_scale_slot(size, random.Random(19))
    versions.bump(versions.INVENTORY)  # bulk inserts bump nothing: announce them
    load(3)  # warm-up: one worker builds the new snapshot, the other fetches it
    creative = Creative.objects.filter(name__startswith="Scale ").order_by("pk").first()
    assert creative is not None
    pairs = []
    for _ in range(rounds):
        steady = load(seconds)
        after: dict = {}
        loading = threading.Thread(target=lambda out: out.update(load(seconds)), args=(after,))
        loading.start()
        time.sleep(0.25)
        creative.weight += 1
        creative.save()
        loading.join()
        pairs.append({"steady": steady, "after_save": after})
    empty_scale_slot()
    return {
        "creatives": size,
        "rounds": pairs,
        "steady_p99_us": statistics.median(p["steady"]["p99_us"] for p in pairs),
        "after_p99_us": statistics.median(p["after_save"]["p99_us"] for p in pairs),
        "x_steady": statistics.median(
            p["after_save"]["p99_us"] / p["steady"]["p99_us"] for p in pairs
        ),
        "error_total": sum(p[k]["error_total"] for p in pairs for k in ("steady", "after_save")),
    }


def snapshot_paths(decision_paths: list[str]) -> list[str]:
    """The page decision's paths with the scaling slot among the page's slots."""
    page = f"slots={PAGE_SLOTS}"
    return [path.replace(page, f"{page},scale-test") for path in decision_paths]


def make_tokens(pages: int) -> tuple[list[str], list[str], list[str]]:
    """Serve ``pages`` real page decisions; return decision, beacon and click paths."""
    # Project modules load only after setup_django() has chosen the database: imported here.
    from urllib.parse import urlparse

    from django.utils import timezone

    from bench.inventory import page_contexts
    from sponsors.api.ads import placement_data
    from sponsors.counters import get_counters
    from sponsors.decision import PageContext, decide
    from sponsors.inventory_cache import forget_memo, get_inventory

    forget_memo()
    rng = random.Random(3)
    contexts = page_contexts(rng, 64)
    decision_paths, beacons, clicks = [], [], []
    for n in range(4096):
        topics = ",".join(contexts[n % len(contexts)])
        decision_paths.append(
            f"/api/v1/ads/?slots={PAGE_SLOTS}&topics={topics}&viewer=v{rng.randrange(100_000)}"
        )
    inventory = get_inventory()
    counters = get_counters()
    now = timezone.now()
    for n in range(pages):
        viewer = f"v{n}"
        decision = decide(
            inventory,
            PAGE_SLOTS.split(","),
            PageContext(topics=contexts[n % len(contexts)], viewer=viewer),
            now=now,
            counters=counters,
            rng=rng,
        )
        for placement in decision.placements.values():
            if placement is None:
                continue
            data = placement_data(placement, viewer, "", now)
            beacons.append(urlparse(data["impression_url"]).path)
            clicks.append(urlparse(data["click_url"]).path)
    return decision_paths, beacons, clicks


# Events sent apart after the load, in known numbers: each must be counted under its reason.
APART_SENDS = {"replayed": 1000, "invalid": 500, "expired": 500, "bot": 500, "non_browser": 500}
BOT_UA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
SERVER_LIBRARY_UA = "axios/1.7.7"


def apart_tokens(beacons_counted: list[str]) -> dict[str, list[str]]:
    """Beacon paths for each reason: replays of counted beacons, tampered ones, expired ones
    (signed seven hours ago), and fresh ones for the bot and the server library to send."""
    # Project modules load only after setup_django() has chosen the database: imported here.
    from urllib.parse import urlparse

    from django.core import signing
    from django.utils import timezone

    from sponsors import tracking
    from sponsors.api.ads import placement_data
    from sponsors.counters import get_counters
    from sponsors.decision import PageContext, decide
    from sponsors.inventory_cache import get_inventory

    rng = random.Random(11)
    inventory, counters, now = get_inventory(), get_counters(), timezone.now()
    fresh: list[str] = []
    expired: list[str] = []
    old = tracking.Tokens()
    old.stamp = signing.b62_encode(int(time.time()) - 7 * 3600)
    while len(fresh) < 1000 + APART_SENDS["invalid"] or len(expired) < APART_SENDS["expired"]:
        decision = decide(
            inventory, PAGE_SLOTS.split(","), PageContext(), now=now, counters=counters, rng=rng
        )
        for placement in decision.placements.values():
            if placement is not None:
                fresh.append(
                    urlparse(placement_data(placement, None, "", now)["impression_url"]).path
                )
                expired.append(f"/api/v1/ads/impression/{old(placement, None)[0]}/")
    tampered = [path[:-3] + ("A" if path[-3] != "A" else "B") + path[-2:] for path in fresh[1000:]]
    return {
        "replayed": beacons_counted[: APART_SENDS["replayed"]],
        "invalid": tampered[: APART_SENDS["invalid"]],
        "expired": expired[: APART_SENDS["expired"]],
        "bot": fresh[:500],
        "non_browser": fresh[500:1000],
    }


def make_read_paths(articles: list, count: int) -> list[str]:
    """``count`` read beacon paths (one page view each) of random benchmark articles."""
    # Project modules load only after setup_django() has chosen the database: imported here.
    from sponsors.tracking import make_read_token

    rng = random.Random(5)
    return [f"/api/v1/reads/{make_read_token(rng.choice(articles).pk)}/" for _ in range(count)]


def trending_paths() -> list[str]:
    """Trending as front ends ask for it: all topics, or one of the 20, various limits."""
    from bench.inventory import TOPICS

    paths = ["/api/v1/trending/", "/api/v1/trending/?limit=5"]
    paths += [f"/api/v1/trending/?topic={slug}" for slug in TOPICS]
    return paths


def trending_warm_queries(paths: list[str]) -> int:
    """SQL queries of warm trending answers, in-process (each path asked once cold first)."""
    # Project modules load only after setup_django() has chosen the database: imported here.
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    for path in paths:
        assert client.get(path).status_code == 200, path
    with CaptureQueriesContext(connection) as queries:
        for path in paths:
            client.get(path)
    return len(queries)


def read_total() -> int:
    # Project modules load only after setup_django() has chosen the database: imported here.
    from django.db.models import Sum

    from sponsors.models import ArticleReadCounter

    return ArticleReadCounter.objects.aggregate(n=Sum("reads"))["n"] or 0


def database_counts() -> dict[str, int]:
    # Project modules load only after setup_django() has chosen the database: imported here.
    from django.db.models import Sum

    from sponsors.models import DeliveryCounter, TrackingReceipt, UncountedCounter

    sums = DeliveryCounter.objects.aggregate(impressions=Sum("impressions"), clicks=Sum("clicks"))
    for event in ("impression", "click", "read"):
        apart = UncountedCounter.objects.filter(event=event).values("reason")
        for row in apart.annotate(n=Sum("count")).order_by():
            sums[f"{row['reason']}_{event}s"] = row["n"]
    sums["bot_impressions"] = sums.get("bot_impressions") or 0
    sums["bot_clicks"] = sums.get("bot_clicks") or 0
    sums["bot_reads"] = sums.get("bot_reads") or 0
    sums["reads"] = read_total()
    counts = {key: value or 0 for key, value in sums.items()}
    # The naive endpoint writes the same table, one receipt per count: take its share out.
    counts["naive"] = TrackingReceipt.objects.filter(key__startswith="naive:").count()
    counts["impressions"] -= counts["naive"]
    return counts


# ---------------------------------------------------------------------------------------------
# Server


SERVERS = {
    # name: command (PORT and WORKERS filled in)
    "gunicorn-sync": "{python} -m gunicorn cms.wsgi:application --bind 127.0.0.1:{port} "
    "--workers {workers} --worker-class sync --backlog 2048 --log-level warning",
    "gunicorn-gthread": "{python} -m gunicorn cms.wsgi:application --bind 127.0.0.1:{port} "
    "--workers {workers} --worker-class gthread --threads {threads} --backlog 2048 "
    "--log-level warning",
    "granian": "{python} -m granian --interface wsgi cms.wsgi:application --host 127.0.0.1 "
    "--port {port} --workers {workers} --blocking-threads {threads} --backlog 2048 --no-ws "
    "--log-level warning",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """The app under one of SERVERS on a free port, in its own process group (stopped by it).

    The benchmarks, the load test, ``make fuzz`` and ``make client-smoke`` all start it
    here; ``log`` takes the server's output into a file instead of this terminal.
    """

    def __init__(
        self,
        name: str,
        workers: int,
        threads: int,
        env: dict[str, str],
        log: Path | None = None,
    ) -> None:
        self.name = name
        self.port = free_port()
        command = SERVERS[name].format(
            python=sys.executable, port=self.port, workers=workers, threads=threads
        )
        self.log = log.open("w") if log is not None else None
        self.process = subprocess.Popen(
            command.split(),
            cwd=ROOT,
            env={**os.environ, **env},
            start_new_session=True,
            stdout=self.log,
            stderr=subprocess.STDOUT if self.log else None,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.base + "/api/v1/health/", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit(f"{name} did not start on {self.base}" + (f"; see {log}" if log else ""))

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        if self.log is not None:
            self.log.close()


def start_flusher(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """``ads_flush --every 1`` beside the server, as in production."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "ads_flush", "--every", "1"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop_flusher(flusher: subprocess.Popen[bytes]) -> None:
    """SIGTERM: it stops between two flushes (a flush under way finishes)."""
    if flusher.poll() is None:
        os.killpg(flusher.pid, signal.SIGTERM)
        flusher.wait(timeout=30)


def flush_all(env: dict[str, str]) -> None:
    """Everything pending in Redis into the database, including the batches of a flusher
    that stopped (``--recover-after 0``)."""
    subprocess.run(
        [sys.executable, "manage.py", "ads_flush", "--recover-after", "0"],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
        stdout=subprocess.DEVNULL,
    )


# ---------------------------------------------------------------------------------------------
# Load


def run_wrk(
    wrk: str,
    base: str,
    paths_file: Path,
    *,
    seconds: int,
    connections: int,
    once: bool = False,
    script: str = "paths.lua",
    script_args: list[str] | None = None,
) -> dict:
    """One wrk run of ``script`` (bench/paths.lua: the paths of ``paths_file`` in turn; the
    load test's bench/mix.lua takes ``script_args`` after the file and the thread count);
    its JSON summary line, with ``rps`` and ``error_total`` added."""
    threads = 2
    extra = script_args if script_args is not None else ["once" if once else "loop", BROWSER_UA]
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "5s",
        "-s",
        str(ROOT / "bench" / script),
        base,
        "--",
        str(paths_file),
        str(threads),
        *extra,
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["error_total"] = sum(result["errors"].values())
    return result


def run_python_load(base: str, paths: list[str], *, seconds: int, connections: int) -> dict:
    """Fallback when wrk is not available: threads with keep-alive connections."""
    import http.client

    host, port = base.split("//")[1].split(":")
    lock = threading.Lock()
    next_index = [0]
    latencies: list[float] = []
    errors = [0]
    stop = time.time() + seconds

    def worker():
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        local = []
        while time.time() < stop:
            with lock:
                index = next_index[0]
                next_index[0] += 1
            if index >= len(paths):
                break
            start = time.perf_counter()
            try:
                conn.request("GET", paths[index], headers={"User-Agent": BROWSER_UA})
                response = conn.getresponse()
                response.read()
                if response.status >= 400:
                    errors[0] += 1
            except OSError:
                errors[0] += 1
                conn = http.client.HTTPConnection(host, int(port), timeout=5)
            local.append(time.perf_counter() - start)
        with lock:
            latencies.extend(local)

    started = time.time()
    workers = [threading.Thread(target=worker) for _ in range(connections)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    duration = time.time() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "sent": len(latencies),
        "rps": len(latencies) / duration,
        "p50_us": latencies[len(latencies) // 2] * 1e6 if latencies else 0,
        "p99_us": latencies[int(len(latencies) * 0.99)] * 1e6 if latencies else 0,
        "error_total": errors[0],
        "exhausted": 0,
    }


def sent_paths(paths: list[str], result: dict, threads: int = 2) -> list[str]:
    """The paths a "once" run sent: thread i sent paths i, i+n, i+2n, ... (sent_i of them)."""
    if "sent_by_thread" not in result:  # the Python load generator sends in order
        return paths[: result["sent"]]
    indices = []
    for thread_id, sent in result["sent_by_thread"]:
        indices += [thread_id + k * threads for k in range(sent)]
    return [paths[i] for i in sorted(indices) if i < len(paths)]


def resend(
    base: str, paths: list[str], expect: int, workers: int = 8, user_agent: str | None = None
) -> int:
    """Send every path again and wait for each answer; return how many were not ``expect``.

    Replays count nothing, so afterwards every distinct token sent has been counted exactly
    once: any that the first run wrote but the server never read (wrk abandons requests in
    flight when it stops) is counted now, and none twice.
    """
    import http.client

    host, port = base.split("//")[1].split(":")
    failures = [0]
    lock = threading.Lock()

    def worker(chunk: list[str]) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        bad = 0
        for path in chunk:
            for _attempt in range(3):
                try:
                    conn.request("GET", path, headers={"User-Agent": user_agent or BROWSER_UA})
                    response = conn.getresponse()
                    response.read()
                    bad += response.status != expect
                    break
                except OSError:
                    conn.close()
                    conn = http.client.HTTPConnection(host, int(port), timeout=10)
            else:
                bad += 1
        with lock:
            failures[0] += bad

    threads = [threading.Thread(target=worker, args=(paths[n::workers],)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures[0]


# ---------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=3, help="Duration of each run.")
    parser.add_argument(
        "--rounds",
        type=int,
        default=6,
        help="Rounds; each runs the trivial view before and after every endpoint.",
    )
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--server", choices=sorted(SERVERS), default="granian")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--threads", type=int, default=2, help="Threads per worker (granian, gunicorn-gthread)."
    )
    parser.add_argument("--no-install", action="store_true", help="Never apt-get install wrk.")
    parser.add_argument(
        "--skip-scaling", action="store_true", help="Skip the in-process scaling measurement."
    )
    parser.add_argument(
        "--skip-snapshot",
        action="store_true",
        help="Skip the snapshot measurements (build at 10,000 creatives, p99 after a save).",
    )
    args = parser.parse_args()

    env = configure()
    log(
        f"database: {env['DATABASE_URL'].split('://')[0]}, "
        f"cache/counters: {'redis' if env['REDIS_URL'] else 'local memory + database'}, "
        f"server: {args.server} x {args.workers} workers x {args.threads} threads, DEBUG=0"
    )
    wrk = ensure_wrk(not args.no_install)
    log(f"load generator: {wrk or 'python (wrk not available)'}")
    setup_django()
    # Project modules load only after setup_django() has chosen the database: imported here.
    from django.core.cache import cache

    from bench.inventory import load_articles, reset_and_load

    cache.clear()
    summary = reset_and_load()
    articles = load_articles()
    seeded_reads = read_total()
    summary["articles"] = len(articles)
    log(f"inventory: {summary}")
    trending = trending_paths()
    warm_queries = trending_warm_queries(trending)
    log(f"trending: {warm_queries} SQL queries for {len(trending)} warm answers in-process")
    from bench import reader  # imports the models: only after setup_django()

    reader.load_reader_content(articles)
    reader_sets = reader.reader_paths(articles)
    reader_queries = reader.warm_queries([p for paths in reader_sets.values() for p in paths])
    log(f"reader endpoints: {reader_queries} SQL queries for their warm answers in-process")
    page_paths = reader.page_paths(reader.feature_article(articles))
    page_queries = reader.warm_queries(page_paths[:64])
    log(f"article page: {page_queries} SQL queries for 64 warm answers in-process")
    article_times = reader.article_cold_times(articles[0])
    log(f"article detail in-process: {article_times}")

    scaling = [] if args.skip_scaling else measure_scaling()
    builds = [] if args.skip_snapshot else measure_build()
    cache.clear()
    log("serving real decisions to make distinct beacon and click tokens ...")
    decision_paths, beacons, clicks = make_tokens(pages=3_000 * args.rounds * args.seconds)
    naive = [p.replace("/api/v1/ads/impression/", "/bench/naive-impression/") for p in beacons]
    read_paths = make_read_paths(articles, len(beacons))
    # Each round of a "once" endpoint sends its own slice of distinct tokens.
    slices = {
        key: [paths[r :: args.rounds] for r in range(args.rounds)]
        for key, paths in (
            ("beacon", beacons),
            ("click", clicks),
            ("read", read_paths),
            ("naive", naive),
        )
    }
    files: dict[str, Path] = {
        "trivial": OUT / "trivial-paths.txt",
        "decision": OUT / "decision-paths.txt",
        "trending": OUT / "trending-paths.txt",
    }
    files["trivial"].write_text("/api/v1/health/\n")
    files["decision"].write_text("\n".join(decision_paths) + "\n")
    files["trending"].write_text("\n".join(trending) + "\n")
    for key, paths in reader_sets.items():
        files[key] = OUT / f"{key}-paths.txt"
        files[key].write_text("\n".join(paths) + "\n")
    files["page"] = OUT / "page-paths.txt"
    files["page"].write_text("\n".join(page_paths) + "\n")
    files["not_modified"] = OUT / "not-modified-paths.txt"
    files["snapshot"] = OUT / "snapshot-decision-paths.txt"
    files["snapshot"].write_text("\n".join(snapshot_paths(decision_paths)) + "\n")
    for key, parts in slices.items():
        for r, paths in enumerate(parts):
            files[f"{key}-{r}"] = OUT / f"{key}-paths-{r}.txt"
            files[f"{key}-{r}"].write_text("\n".join(paths) + "\n")
    cache.clear()  # the server starts cold: counters, snapshot and receipts all empty

    server = Server(args.server, args.workers, args.threads, env)
    flusher = start_flusher(env)

    def load(key: str, *, once: bool, seconds: int | None = None) -> dict:
        seconds = seconds or args.seconds
        if wrk:
            return run_wrk(
                wrk,
                server.base,
                files[key],
                seconds=seconds,
                connections=args.connections,
                once=once,
            )
        paths = files[key].read_text().split()
        if not once:
            paths = (paths * (200_000 // len(paths) + 1))[:200_000]
        return run_python_load(server.base, paths, seconds=seconds, connections=args.connections)

    runs: dict[str, list[dict]] = {key: [] for key in ENDPOINTS}
    sent: dict[str, list[str]] = {"beacon": [], "click": [], "read": []}
    try:
        load("trivial", once=False, seconds=2)  # warm-up: connections, snapshot, scripts
        load("decision", once=False, seconds=2)
        load("trending", once=False, seconds=1)  # every worker computes or fetches each key
        for key in [*reader_sets, "page"]:
            load(key, once=False, seconds=1)
        # The ETag the server gives (its payload versions), sent back by every request.
        files["not_modified"].write_text(
            not_modified_line(server.base, reader_sets["article"][1]) + "\n"
        )
        for r in range(args.rounds):
            # T X T Y T ...: every endpoint run is bracketed by two trivial runs.
            before = load("trivial", once=False)
            runs["trivial"].append(before)
            for key in ENDPOINTS[1:]:
                once = key in ONCE
                result = load(f"{key}-{r}" if once else key, once=once)
                after = load("trivial", once=False)
                result["paired_trivial_rps"] = (before["rps"] + after["rps"]) / 2
                runs["trivial"].append(after)
                runs[key].append(result)
                if key in sent:
                    sent[key] += sent_paths(slices[key][r], result)
                before = after
            log(
                f"round {r + 1}/{args.rounds}: "
                + ", ".join(f"{k} {runs[k][-1]['rps']:.0f}/s" for k in ENDPOINTS)
            )
        after_save = None
        if not args.skip_snapshot:
            log("page decision with 10,000 creatives in a slot: steady, then after a save ...")
            after_save = measure_after_save(
                lambda seconds: load("snapshot", once=False, seconds=seconds)
            )
        log("sending every beacon and click token again (replays must count nothing) ...")
        resend_failures = (
            resend(server.base, sent["beacon"], 204)
            + resend(server.base, sent["click"], 302)
            + resend(server.base, sent["read"], 204)
        )
        time.sleep(2.5)  # let the flusher catch up, then stop it and flush the rest
        stop_flusher(flusher)
        flush_all(env)
        counted: dict[str, Any] = dict(database_counts())
        log("sending known numbers of replays, tampered, expired, bot and library beacons ...")
        tokens = apart_tokens(sent["beacon"])
        agents = {"bot": BOT_UA, "non_browser": SERVER_LIBRARY_UA}
        for reason, paths in tokens.items():
            expect = 400 if reason in ("invalid", "expired") else 204
            resend_failures += resend(server.base, paths, expect, user_agent=agents.get(reason))
        flush_all(env)
        after = database_counts()
        counted["apart_sent"] = {reason: len(paths) for reason, paths in tokens.items()}
        counted["apart_counted"] = {
            reason: after.get(f"{reason}_impressions", 0) - counted.get(f"{reason}_impressions", 0)
            for reason in tokens
        }
        counted["billable_unchanged"] = (after["impressions"], after["clicks"]) == (
            counted["impressions"],
            counted["clicks"],
        )
    finally:
        stop_flusher(flusher)
        server.stop()

    counted["beacons_sent"] = len(set(sent["beacon"]))
    counted["clicks_sent"] = len(set(sent["click"]))
    counted["reads"] -= seeded_reads
    counted["reads_sent"] = len(set(sent["read"]))
    counted["trending_warm_queries"] = warm_queries
    counted["reader_warm_queries"] = reader_queries
    counted["page_warm_queries"] = page_queries
    counted["article_times"] = article_times
    counted["resend_failures"] = resend_failures
    results = summarise(runs)
    report(args, env, summary, scaling, results, counted)
    report_snapshot(builds, after_save)
    (OUT / "last.json").write_text(
        json.dumps(
            {
                "results": results,
                "runs": runs,
                "scaling": scaling,
                "counted": counted,
                "inventory": summary,
                "snapshot_builds": builds,
                "after_save": after_save,
            },
            indent=2,
        )
    )
    return 0 if check_targets(scaling, results, counted, builds, after_save) else 1


ENDPOINTS = (
    "trivial",
    "decision",
    "beacon",
    "click",
    "read",
    "trending",
    "article",
    "list",
    "topic",
    "insights",
    "countdown",
    "page",
    "not_modified",
    "naive",
)
ONCE = ("beacon", "click", "read", "naive")  # each request sends a distinct token
LABELS = {
    "trivial": "trivial JSON view  GET /api/v1/health/",
    "decision": "page decision, 3 slots  GET /api/v1/ads/",
    "beacon": "impression beacon  GET /api/v1/ads/impression/<t>/",
    "click": "click redirect  GET /api/v1/ads/click/<t>/ (302)",
    "read": "read beacon  GET /api/v1/reads/<t>/",
    "trending": "trending (22 topic/limit variants)  GET /api/v1/trending/",
    "article": "article detail (60 articles)  GET /api/v1/articles/<slug>/",
    "list": "article list (4 variants)  GET /api/v1/articles/",
    "topic": "a topic's articles (20 topics)  GET /api/v1/topics/<slug>/articles/",
    "insights": "insights (2 variants)  GET /api/v1/insights/",
    "countdown": "countdown  GET /api/v1/countdowns/<slug>/",
    "page": "article page (warm)  GET /api/v1/pages/articles/<slug>/",
    "not_modified": "article detail, If-None-Match: 304",
    "naive": "naive per-event DB update (benchmark only)",
}


def not_modified_line(base: str, path: str) -> str:
    """A paths-file line for conditional GETs of ``path``: the path, a tab, the ETag the
    running server answers it with."""
    import urllib.request

    request = urllib.request.Request(base + path, headers={"User-Agent": BROWSER_UA})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return f"{path}\t{answer.headers['ETag']}"


def summarise(runs: dict[str, list[dict]]) -> dict[str, dict]:
    """Per endpoint: median requests/s, p50, p99 over the rounds, total errors, and the
    median of its ratios to the trivial runs made right before and after it (so that load
    from elsewhere on the machine weighs on both sides of each ratio alike)."""
    results = {}
    for key in ENDPOINTS:
        items = runs[key]
        results[key] = {
            "rps": statistics.median(r["rps"] for r in items),
            "p50_us": statistics.median(r["p50_us"] for r in items),
            "p99_us": statistics.median(r["p99_us"] for r in items),
            "error_total": sum(r["error_total"] for r in items),
            "exhausted": sum(r.get("exhausted", 0) for r in items),
            "x_trivial": 1.0
            if key == "trivial"
            else statistics.median(r["rps"] / r["paired_trivial_rps"] for r in items),
            "rounds_rps": [round(r["rps"]) for r in items],
        }
    # Against the naive endpoint, each side is first taken relative to its own paired
    # trivial run (they ran seconds apart), then divided; median over the rounds.
    for key in ("beacon", "click", "read"):
        results[key]["x_naive"] = statistics.median(
            (a["rps"] / a["paired_trivial_rps"]) / (b["rps"] / b["paired_trivial_rps"])
            for a, b in zip(runs[key], runs["naive"], strict=True)
        )
    return results


def report(args, env, summary, scaling, results, counted) -> None:
    print()
    print(
        f"Ad serving benchmark: {args.server}, {args.workers} workers x {args.threads} threads, "
        f"{args.connections} connections, {args.rounds} rounds x {args.seconds}s per endpoint, "
        f"{env['DATABASE_URL'].split('://')[0]} + "
        f"{'redis' if env['REDIS_URL'] else 'no redis'}, DEBUG=0, "
        f"{summary['live_creatives']} live creatives in {summary['slots']} slots"
    )
    header = f"{'endpoint':52} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6}"
    print(f"{header} {'x trivial':>9} {'x naive':>7}")
    for key in ENDPOINTS:
        r = results[key]
        x_naive = f"{r['x_naive']:7.2f}" if "x_naive" in r else f"{'':7}"
        print(
            f"{LABELS[key]:52} {r['rps']:7.0f} {r['p50_us'] / 1000:7.2f} "
            f"{r['p99_us'] / 1000:7.2f} {r['error_total']:6d} {r['x_trivial']:9.2f} {x_naive}"
        )
    print(
        "(medians over the rounds; x trivial: median of each run's ratio to the mean of the "
        "trivial runs just before and after it; x naive: median of (x trivial) / (naive's "
        "x trivial); "
        "req/s per round: " + "; ".join(f"{k} {results[k]['rounds_rps']}" for k in ENDPOINTS) + ")"
    )
    if scaling:
        print()
        print("In-process decision time (one slot, median of 3,000 decisions, with counters):")
        for row in scaling:
            print(
                f"  {row['creatives']:>6,} live creatives: {row['median_us']:7.1f} µs "
                f"(p99 {row['p99_us']:.0f} µs)"
            )
        print(f"  growth 10 -> 10,000: {scaling[-1]['median_us'] / scaling[0]['median_us']:.2f}x")
    print()
    print(
        f"Counted after flush: {counted['impressions']:,} impressions for "
        f"{counted['beacons_sent']:,} distinct beacons sent twice each; "
        f"{counted['clicks']:,} clicks for {counted['clicks_sent']:,} distinct clicks sent "
        f"twice each; {counted['reads']:,} reads for {counted['reads_sent']:,} distinct read "
        f"tokens sent twice each; bots {counted['bot_impressions']} / {counted['bot_clicks']} / "
        f"{counted['bot_reads']}; trending warm: {counted['trending_warm_queries']} SQL queries."
    )
    times = counted["article_times"]
    print(
        f"Article detail in-process: cold (first request after a save) "
        f"{times['cold_ms']:.1f} ms, built every time without payloads {times['uncached_ms']:.1f}"
        f" ms, warm {times['warm_ms']:.2f} ms; reader endpoints warm: "
        f"{counted['reader_warm_queries']} SQL queries; article page warm: "
        f"{counted['page_warm_queries']} SQL queries."
    )
    print(
        "Counted apart after the load, by reason (sent -> counted): "
        + ", ".join(
            f"{reason} {counted['apart_sent'][reason]:,} -> {counted['apart_counted'][reason]:,}"
            for reason in counted["apart_sent"]
        )
        + f"; billable counts unchanged: {'yes' if counted['billable_unchanged'] else 'NO'}."
    )


def report_snapshot(builds: list[dict], after_save: dict | None) -> None:
    if builds:
        print()
        print("Snapshot of the inventory plus N live creatives in one slot (in-process):")
        for row in builds:
            print(
                f"  {row['creatives']:>6,} creatives: build {row['build_s']:.2f} s (median of "
                f"{', '.join(f'{t:.2f}' for t in row['builds_s'])}), {row['memory_mb']:.1f} MB "
                f"(tracemalloc), pickled {row['pickled_mb']:.2f} MB, unpickled in "
                f"{row['unpickle_s']:.2f} s"
            )
    if after_save:
        print()
        print(
            f"Page decision with {after_save['creatives']:,} creatives in one of its 4 slots, "
            f"{SAVE_SECONDS} s runs: p99 without saves "
            f"{after_save['steady_p99_us'] / 1000:.2f} ms, in the {SAVE_SECONDS} s after a "
            f"save {after_save['after_p99_us'] / 1000:.2f} ms (medians); after / steady: "
            f"x{after_save['x_steady']:.2f} (median of the rounds' "
            + ", ".join(
                f"{p['after_save']['p99_us'] / 1000:.0f} / {p['steady']['p99_us'] / 1000:.0f} ms"
                for p in after_save["rounds"]
            )
            + "; req/s "
            + ", ".join(
                f"{p['after_save']['rps']:.0f} / {p['steady']['rps']:.0f}"
                for p in after_save["rounds"]
            )
            + ")"
        )


def snapshot_checks(builds: list[dict], after_save: dict | None) -> list[tuple[str, bool]]:
    checks = []
    for row in builds:
        if row["creatives"] >= 10_000:
            checks.append(("snapshot build at 10,000 creatives <= 2 s", row["build_s"] <= 2.0))
            checks.append(("snapshot memory at 10,000 creatives <= 50 MB", row["memory_mb"] <= 50))
    if after_save:
        checks.append(("p99 after a save <= 2x steady p99", after_save["x_steady"] <= 2))
        checks.append(("0 errors around the saves", after_save["error_total"] == 0))
    return checks


def check_targets(scaling, results, counted, builds=(), after_save=None) -> bool:
    checks = [
        ("page decision >= 0.5x trivial", results["decision"]["x_trivial"] >= 0.5),
        ("beacon >= 0.35x trivial", results["beacon"]["x_trivial"] >= 0.35),
        ("click >= 0.35x trivial", results["click"]["x_trivial"] >= 0.35),
        ("beacon >= 2.5x naive DB update", results["beacon"]["x_naive"] >= 2.5),
        ("click >= 2.5x naive DB update", results["click"]["x_naive"] >= 2.5),
        ("read beacon >= 0.35x trivial", results["read"]["x_trivial"] >= 0.35),
        ("read beacon >= 2.5x naive DB update", results["read"]["x_naive"] >= 2.5),
        ("trending >= 0.5x trivial", results["trending"]["x_trivial"] >= 0.5),
        ("trending warm: 0 SQL queries", counted["trending_warm_queries"] == 0),
        ("article detail >= 0.5x trivial", results["article"]["x_trivial"] >= 0.5),
        ("countdown >= 0.5x trivial", results["countdown"]["x_trivial"] >= 0.5),
        (
            "article list, topic's articles, insights >= 0.4x trivial",
            all(results[k]["x_trivial"] >= 0.4 for k in ("list", "topic", "insights")),
        ),
        ("304 answer >= 0.7x trivial", results["not_modified"]["x_trivial"] >= 0.7),
        ("reader endpoints warm: 0 SQL queries", counted["reader_warm_queries"] == 0),
        ("article page (warm) >= 0.3x trivial", results["page"]["x_trivial"] >= 0.3),
        ("article page warm: 0 SQL queries", counted["page_warm_queries"] == 0),
        (
            "article detail cold <= 2x built without payloads",
            counted["article_times"]["cold_ms"] <= 2 * counted["article_times"]["uncached_ms"],
        ),
        (
            "0 errors at 64 connections",
            all(r["error_total"] == 0 for r in results.values()),
        ),
        (
            "every token distinct (none re-sent)",
            all(results[k]["exhausted"] == 0 for k in ("beacon", "click", "read", "naive")),
        ),
        (
            "flushed impressions == distinct beacons sent",
            counted["impressions"] == counted["beacons_sent"],
        ),
        ("flushed clicks == distinct clicks sent", counted["clicks"] == counted["clicks_sent"]),
        ("flushed reads == distinct read tokens sent", counted["reads"] == counted["reads_sent"]),
        ("every replay answered normally", counted["resend_failures"] == 0),
        (
            "each reason counted exactly as sent (replayed, invalid, expired, bot, non-browser)",
            counted["apart_counted"] == counted["apart_sent"],
        ),
        ("billable counts unchanged by events counted apart", counted["billable_unchanged"]),
    ]
    if scaling:
        growth = scaling[-1]["median_us"] / scaling[0]["median_us"]
        checks.append(("decision time 10 -> 10,000 creatives < 3x", growth < 3))
    checks += snapshot_checks(list(builds), after_save)
    print()
    for label, ok in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {label}")
    return all(ok for _, ok in checks)


if __name__ == "__main__":
    sys.exit(main())
