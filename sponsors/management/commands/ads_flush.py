"""Move buffered impression and click counts from Redis to the database, exactly once.

Run it every few seconds from cron, a systemd timer or a loop (``--every 10``). Several
workers may run at once, and killing one mid-flush loses and doubles nothing: see
``sponsors.counters.flush_redis``.

With ``--every`` it outlives outages: a flush that fails (Redis or the database not
answering) is reported in one line and tried again after a backoff that doubles up to
``MAX_BACKOFF``; the first flush that succeeds drains everything pending and, if this
process's breaker was open, bumps the versions (``sponsors.versions.Breaker``). SIGTERM or
Ctrl-C stop it between flushes (a flush under way finishes; one killed mid-way is recovered).
"""

import signal
import threading
import time
from types import FrameType

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection

from sponsors.counters import get_counters, prune_receipts, uses_redis
from sponsors.versions import REDIS_DOWN, breaker

# Receipts of expired tokens are deleted at most this often (seconds), not on every flush.
PRUNE_EVERY = 60.0
# Longest wait between two failed flushes (seconds).
MAX_BACKOFF = 60.0
# What an outage raises: Redis or the database not answering.
FLUSH_FAILURES: tuple[type[Exception], ...] = (*REDIS_DOWN, DatabaseError)


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
        stop = threading.Event()
        previous = None
        if every and threading.current_thread() is threading.main_thread():

            def on_term(signum: int, frame: FrameType | None) -> None:
                stop.set()

            previous = signal.signal(signal.SIGTERM, on_term)
        try:
            self._loop(recover_after, every, times, stop)
        except KeyboardInterrupt:
            stop.set()
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        if stop.is_set():
            self.stdout.write("Stopped.")

    def _loop(self, recover_after: float, every: float, times: int, stop: threading.Event):
        runs = 0
        failures = 0
        pruned_at = -PRUNE_EVERY
        while not stop.is_set():
            runs += 1
            try:
                report = get_counters().flush(recover_after=recover_after)
                if time.monotonic() - pruned_at >= PRUNE_EVERY:
                    pruned = prune_receipts()
                    pruned_at = time.monotonic()
                    self.stdout.write(f"Pruned {pruned} expired tracking receipt(s).")
            except FLUSH_FAILURES as exc:
                if isinstance(exc, REDIS_DOWN):
                    breaker.trip(exc)
                else:
                    connection.close()  # a fresh connection next time
                failures += 1
                if not every:
                    raise CommandError(f"Flush failed: {type(exc).__name__}: {exc}") from None
                wait = min(every * 2 ** (failures - 1), max(MAX_BACKOFF, every))
                # One line per failure, no traceback: an outage is not a bug in this code.
                self.stderr.write(
                    f"Flush failed ({type(exc).__name__}: {exc}); attempt {failures}, "
                    f"next in {wait:.1f} s."
                )
                if times and runs >= times:
                    return
                stop.wait(wait)
                continue
            if failures:
                self.stdout.write(f"Flushing again after {failures} failed attempt(s).")
                failures = 0
                breaker.succeeded()
            self.stdout.write(
                f"Flushed {report.events} event(s) and {report.apart} counted apart "
                f"({report.unknown} of deleted creatives, slots or articles) in "
                f"{report.batches} batch(es); recovered {report.recovered} leftover "
                f"batch(es), {report.already_applied} already applied."
            )
            if not every or (times and runs >= times):
                return
            stop.wait(every)
