"""Move buffered impression and click counts from Redis to the database, exactly once.

Run it every few seconds from cron, a systemd timer or a loop (``--every 10``). Several
workers may run at once, and killing one mid-flush loses and doubles nothing: see
``sponsors.counters.flush_redis``.
"""

import time

from django.core.management.base import BaseCommand, CommandError

from sponsors.counters import get_counters, prune_receipts, uses_redis

# Receipts of expired tokens are deleted at most this often (seconds), not on every flush.
PRUNE_EVERY = 60.0


class Command(BaseCommand):
    help = "Flush buffered ad impression/click counts from Redis to the database (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--recover-after",
            type=float,
            default=60.0,
            help="Also apply batches left by a worker that stopped this many seconds ago "
            "(default 60).",
        )
        parser.add_argument(
            "--every",
            type=float,
            default=0.0,
            help="Keep running, flushing every this many seconds (default: flush once).",
        )
        parser.add_argument(
            "--times",
            type=int,
            default=0,
            help="With --every: stop after this many flushes (default: run until stopped).",
        )

    def handle(self, *args, recover_after, every, times, **options):
        if recover_after < 0 or every < 0 or times < 0:
            raise CommandError("--recover-after, --every and --times must not be negative.")
        if not uses_redis():
            pruned = prune_receipts()
            self.stdout.write(
                "No REDIS_URL: counts are written to the database as they happen; nothing to "
                f"flush. Pruned {pruned} expired tracking receipt(s)."
            )
            return
        runs = 0
        pruned_at = 0.0
        while True:
            report = get_counters().flush(recover_after=recover_after)
            self.stdout.write(
                f"Flushed {report.events} event(s) and {report.apart} counted apart "
                f"({report.unknown} of deleted creatives, slots or articles) in "
                f"{report.batches} batch(es); recovered {report.recovered} leftover "
                f"batch(es), {report.already_applied} already applied."
            )
            if time.monotonic() - pruned_at >= PRUNE_EVERY:
                pruned_at = time.monotonic()
                self.stdout.write(f"Pruned {prune_receipts()} expired tracking receipt(s).")
            runs += 1
            if not every or (times and runs >= times):
                return
            time.sleep(every)
