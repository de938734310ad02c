#!/usr/bin/env python3
"""Full-mix load test: ``make loadtest`` (or ``.venv/bin/python bench/loadtest.py``).

The benchmark's setup (``bench/run.py``: DEBUG=0, a random SECRET_KEY, PostgreSQL and Redis
from ``BENCH_DATABASE_URL`` / ``BENCH_REDIS_URL``, its inventory of 200 live creatives in
3 slots, 60 articles, a countdown, granian 2 workers x 2 threads, ``ads_flush --every 1``
beside it), then one wrk run of ``--seconds`` (default 60) of readers' traffic
(``bench/mix.lua``): article pages, page decisions and countdowns as drivers, and what their
answers hand out fired as a front end fires it: each page's read_url, every impression_url,
one click_url in ``CLICK_EVERY``, and one event in ``REPLAY_EVERY`` (impression, click or
read) sent again later as a replay. Then: stop, flush everything (``ads_flush``), and check
that the database holds, per creative and slot, one impression and one click per distinct
token sent, per article one read per distinct read token sent, and each replay counted apart
as replayed, nothing else. Prints throughput per kind and in total, p50, p99, errors and
PASS/FAIL for each check; exit status 1 if one fails.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# The line above makes ``bench`` importable when this file runs as a script.
from bench.run import (
    BROWSER_UA,
    OUT,
    Server,
    configure,
    ensure_wrk,
    flush_all,
    make_tokens,
    run_wrk,
    setup_django,
    start_flusher,
    stop_flusher,
)

# The drivers of the mix, per 20 requests a thread starts on its own: the article page (the
# web front end asks for it once per page view), a page decision (pages that are not an
# article: home, topics, apps asking for ads alone), a countdown (apps and widgets syncing
# their clock). What the answers hand out follows from them (about 1 read and 2-3
# impressions per page, 2-3 impressions per decision).
DRIVER_SHARE = {"page": 11, "decision": 6, "countdown": 3}
# One click per this many ad click_urls handed out (a 2% click-through rate: high for
# display, so that a minute gives hundreds of clicks to count).
CLICK_EVERY = 50
# One replay per this many events sent (a browser firing a beacon twice, a double click, a
# reload reusing a page's read_url), after REPLAY_AFTER seconds (> wrk's 5 s timeout: the
# first send has surely been answered, or the run already failed on a timeout).
REPLAY_EVERY = 20
REPLAY_AFTER = 7
# bench/mix.lua's DRAIN_LIMIT: seconds it waits, after the stop, for answers still out.
DRAIN_LIMIT = 10
EVENTS = ("impression", "click", "read")
KINDS = ("page", "decision", "countdown", *EVENTS, *(f"{e}_replay" for e in EVENTS))
LABELS = {
    "page": "article page  GET /api/v1/pages/articles/<slug>/",
    "decision": "page decision  GET /api/v1/ads/",
    "countdown": "countdown  GET /api/v1/countdowns/<slug>/",
    "impression": "impression beacon  GET /api/v1/ads/impression/<t>/",
    "click": "click redirect (302)  GET /api/v1/ads/click/<t>/",
    "read": "read beacon  GET /api/v1/reads/<t>/",
    "impression_replay": "impression beacon, replayed",
    "click_replay": "click redirect, replayed",
    "read_replay": "read beacon, replayed",
}


def log(message: str) -> None:
    print(f"[loadtest] {message}", flush=True)


def driver_lines(articles: list, decision_paths: list[str], countdown: str) -> list[str]:
    """The drivers file: "kind<TAB>path" lines interleaved in DRIVER_SHARE's proportions;
    each page for one of the articles and a random viewer, each decision for one of the
    benchmark's 64 page contexts and a random viewer."""
    rng = random.Random(23)
    cycle = [kind for kind, share in DRIVER_SHARE.items() for _ in range(share)]
    rng.shuffle(cycle)
    lines = []
    for n in range(4096):
        kind = cycle[n % len(cycle)]
        if kind == "page":
            slug = rng.choice(articles).slug
            path = f"/api/v1/pages/articles/{slug}/?viewer=v{rng.randrange(100_000)}"
        elif kind == "decision":
            path = decision_paths[n % len(decision_paths)]
        else:
            path = f"/api/v1/countdowns/{countdown}/"
        lines.append(f"{kind}\t{path}")
    return lines


def read_logs(prefix: Path, threads: int) -> list[tuple[str, str]]:
    sent = []
    for thread in range(threads):
        with open(f"{prefix}-{thread}.log") as file:
            for line in file:
                kind, path = line.rstrip("\n").split("\t", 1)
                sent.append((kind, path))
    return sent


def expected_counts(sent: list[tuple[str, str]]) -> dict[str, Counter]:
    """From the log: per event, the distinct valid events sent by what they count under
    ((creative, slot), or the article for reads), and the replays sent likewise; plus
    ``resent``, the first sends of a token already sent (must be 0: only replays repeat)."""
    # Project modules load only after setup_django() has chosen the database: imported here.
    from sponsors import tracking

    token_of = {"impression": "/api/v1/ads/impression/", "click": "/api/v1/ads/click/"}
    seen: dict[str, set[str]] = collections.defaultdict(set)
    out: dict[str, Counter] = collections.defaultdict(Counter)
    for kind, path in sent:
        event = kind.removesuffix("_replay")
        if event not in EVENTS:
            continue
        token = path.removeprefix(token_of.get(event, "/api/v1/reads/")).rstrip("/")
        key: tuple[int, ...]
        if event == "read":
            read = tracking.read_read_token(token)
            key, unit = (read.article_id,), read.page_view_id
        else:
            data = tracking.read_token(event, token)
            key, unit = (data.creative_id, data.slot_id), data.placement_id
        if kind.endswith("_replay"):
            out[f"{event}_replay"][key] += 1
        elif unit in seen[event]:
            out["resent"][event] += 1
        else:
            seen[event].add(unit)
            out[event][key] += 1
    return out


def reads_by_article() -> Counter:
    from django.db.models import Sum

    from sponsors.models import ArticleReadCounter

    rows = ArticleReadCounter.objects.values("article").annotate(n=Sum("reads")).order_by()
    return Counter({(row["article"],): row["n"] for row in rows})


def database_counts(reads_before: Counter) -> dict[str, Counter]:
    """What the database holds after the flush, keyed as ``expected_counts``."""
    # Project modules load only after setup_django() has chosen the database: imported here.
    from django.db.models import Sum

    from sponsors.models import DeliveryCounter, UncountedCounter

    out: dict[str, Counter] = collections.defaultdict(Counter)
    rows = DeliveryCounter.objects.values("creative", "slot").order_by()
    for row in rows.annotate(i=Sum("impressions"), c=Sum("clicks")):
        pair = (row["creative"], row["slot"])
        out["impression"][pair] += row["i"]
        out["click"][pair] += row["c"]
    reads = reads_by_article()
    reads.subtract(reads_before)
    out["read"] = +reads  # drop articles read 0 times in the run
    apart = UncountedCounter.objects.values(
        "event", "reason", "creative_id", "slot_id", "article_id"
    )
    for uncounted in apart.annotate(n=Sum("count")).order_by("event", "reason"):
        event, reason, n = uncounted["event"], uncounted["reason"], uncounted["n"]
        if reason == "replayed":
            key: tuple[int, ...] = (
                (uncounted["article_id"],)
                if event == "read"
                else (uncounted["creative_id"], uncounted["slot_id"])
            )
            out[f"{event}_replay"][key] += n
        else:
            out["apart"][f"{event} {reason}"] += n
    for counts in out.values():
        for zero in [k for k, v in counts.items() if v == 0]:
            del counts[zero]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60, help="Duration of the load run.")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="Blocking threads per worker.")
    parser.add_argument("--no-install", action="store_true", help="Never apt-get install wrk.")
    args = parser.parse_args()

    env = configure()
    database = env["DATABASE_URL"].split("://")[0]
    log(
        f"database: {database}, cache/counters: {'redis' if env['REDIS_URL'] else 'none'}, "
        f"granian x {args.workers} workers x {args.threads} threads, DEBUG=0"
    )
    if not database.startswith("postgres") or not env["REDIS_URL"]:
        log("FAIL: the load test runs on PostgreSQL + Redis (BENCH_DATABASE_URL, BENCH_REDIS_URL)")
        return 1
    wrk = ensure_wrk(not args.no_install)
    if not wrk:
        log("FAIL: wrk is not installed (apt-get install wrk)")
        return 1
    setup_django()
    # Project modules load only after setup_django() has chosen the database: imported here.
    from django.core.cache import cache

    from bench import reader
    from bench.inventory import load_articles, reset_and_load

    cache.clear()
    summary = reset_and_load()
    articles = load_articles()
    reader.load_reader_content(articles)
    log(f"inventory: {summary}, {len(articles)} articles")
    decision_paths, _, _ = make_tokens(pages=0)
    drivers = OUT / "loadtest-drivers.txt"
    lines = driver_lines(articles, decision_paths, reader.COUNTDOWN)
    drivers.write_text("\n".join(lines) + "\n")
    warmup = OUT / "loadtest-warmup.txt"
    warmup.write_text("\n".join(line.split("\t", 1)[1] for line in lines) + "\n")
    prefix = OUT / "loadtest-sent"
    for old in OUT.glob("loadtest-sent-*.log"):
        old.unlink()
    reads_before = reads_by_article()
    cache.clear()  # the server starts cold: counters, snapshot and receipts all empty

    server = Server("granian", args.workers, args.threads, env)
    flusher = start_flusher(env)
    try:
        log("warm-up: 5 s of the drivers alone (pages, decisions, countdowns; no events)")
        warm = run_wrk(wrk, server.base, warmup, seconds=5, connections=args.connections)
        log(f"warm-up: {warm['rps']:.0f} req/s, {warm['error_total']} errors")
        log(f"the mix: {args.seconds} s at {args.connections} connections ...")
        started = time.time()
        # Sending stops at a whole second (the script's clock), at least args.seconds away.
        stop_at = math.ceil(started) + args.seconds
        result = run_wrk(
            wrk,
            server.base,
            drivers,
            # wrk's own length, past the script's stop and its drain (wrk waits it out).
            seconds=stop_at - int(started) + DRAIN_LIMIT + 2,
            connections=args.connections,
            script="mix.lua",
            script_args=[
                BROWSER_UA,
                str(prefix),
                str(stop_at),
                str(CLICK_EVERY),
                str(REPLAY_EVERY),
                str(REPLAY_AFTER),
            ],
        )
        result["sending_s"] = stop_at - started
    finally:
        stop_flusher(flusher)
        server.stop()
    flush_started = time.perf_counter()
    flush_all(env)
    flush_seconds = time.perf_counter() - flush_started

    sent = read_logs(prefix, result["threads"])
    expected = expected_counts(sent)
    counted = database_counts(reads_before)
    ok = report(args, result, sent, expected, counted, flush_seconds)
    (OUT / "loadtest.json").write_text(
        json.dumps(
            {
                "result": result,
                "expected": {k: sum(v.values()) for k, v in expected.items()},
                "counted": {k: sum(v.values()) for k, v in counted.items()},
            },
            indent=2,
        )
    )
    return 0 if ok else 1


def report(args, result, sent, expected, counted, flush_seconds) -> bool:
    # The requests went out over the sending window (wrk's own duration also counts the wait
    # after the drain); every one was answered in it or in the drain just after.
    duration = result["sending_s"]
    print()
    print(
        f"Full-mix load: granian {args.workers} workers x {args.threads} threads, "
        f"{args.connections} connections, {duration:.1f} s, PostgreSQL + Redis, DEBUG=0"
    )
    print(f"{'kind':54} {'requests':>9} {'req/s':>7} {'share':>6}")
    total = sum(result["sent"].values())
    for kind in KINDS:
        n = result["sent"][kind]
        print(f"{LABELS[kind]:54} {n:9,d} {n / duration:7.1f} {100 * n / total:5.1f}%")
    print(f"{'total':54} {total:9,d} {total / duration:7.1f} {100:5.1f}%")
    errors = result["errors"]
    print(
        f"latency (all kinds): p50 {result['p50_us'] / 1000:.2f} ms, p90 "
        f"{result['p90_us'] / 1000:.2f} ms, p99 {result['p99_us'] / 1000:.2f} ms, max "
        f"{result['max_us'] / 1000:.2f} ms; errors: non-2xx/3xx {errors['status']}, socket "
        f"connect {errors['connect']} / read {errors['read']} / write {errors['write']} / "
        f"timeout {errors['timeout']}; answered {result['requests']:,} of {total:,} sent"
    )
    print()
    print(f"After the flush ({flush_seconds:.1f} s for the rest):")
    rows = []
    for event in EVENTS:
        want, have = expected[event], counted[event]
        rows.append((event, want, have))
        over = "articles" if event == "read" else "creative/slot pairs"
        differ = len(set(want.items()) ^ set(have.items()))
        print(
            f"  {event + 's':12} distinct sent {sum(want.values()):7,d}, in the database "
            f"{sum(have.values()):7,d} over {len(have)} {over}: "
            f"{'equal' if want == have else f'{differ} differ'}, one by one"
        )
    for event in EVENTS:
        want, have = expected[f"{event}_replay"], counted[f"{event}_replay"]
        print(
            f"  {event} replays sent {sum(want.values()):6,d}, counted as replayed "
            f"{sum(have.values()):6,d} (billed: none, by the lines above)"
        )
    print(f"  counted apart for another reason: {dict(counted['apart']) or 'none'}")
    checks = [
        (f"ran at least {args.seconds} s", duration >= args.seconds),
        ("0 non-2xx/3xx answers", errors["status"] == 0),
        (
            "0 socket errors (connect, read, write, timeout)",
            errors["connect"] + errors["read"] + errors["write"] + errors["timeout"] == 0,
        ),
        (
            "every request sent was answered (drained, nothing in flight at the end)",
            result["drained_threads"] == result["threads"] and result["requests"] == total,
        ),
        ("the log holds every request sent", len(sent) == total),
        (
            "every kind of the mix was sent",
            all(result["sent"][k] > 0 for k in KINDS),
        ),
        ("no event token sent twice except the replays", not expected["resent"]),
    ]
    for event, want, have in rows:
        unit = "article" if event == "read" else "creative and slot"
        checks.append((f"{event}s in the database == distinct sent, per {unit}", want == have))
    for event in EVENTS:
        checks.append(
            (
                f"{event} replays counted as replayed, exactly as sent, per "
                f"{'article' if event == 'read' else 'creative and slot'}",
                expected[f"{event}_replay"] == counted[f"{event}_replay"],
            )
        )
    checks.append(("nothing counted apart for another reason", not counted["apart"]))
    print()
    for label, passed in checks:
        print(f"  {'PASS' if passed else 'FAIL'}  {label}")
    ok = all(passed for _, passed in checks)
    print(f"\n{'PASS' if ok else 'FAIL'}")
    return ok


if __name__ == "__main__":
    sys.exit(main())
