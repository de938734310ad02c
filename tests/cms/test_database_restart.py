"""PostgreSQL restarted under load: requests fail fast with a 503 while it is down and succeed
again within seconds, without restarting the app; never a 500 (issue 15, item 6).

The test runs a PostgreSQL cluster of its own (initdb in a temporary directory, a free port,
as the ``postgres`` user when run as root: PostgreSQL refuses root), migrates it, and starts
the production server on it (granian, ``DEBUG=0``, kept connections with health checks, as
``bench/run.py`` starts it), then puts requests on it from a thread while it stops the
cluster (a fast shutdown: what a restart does to open connections) and starts it again. It
signals only its own postmaster, by the pid in its data directory, and removes the
directory after. The shared cluster on 5432 is never touched. It does not use the test
database, so it runs the same on the SQLite and the PostgreSQL pass of ``.ci/run``.
"""

from __future__ import annotations

import contextlib
import glob
import http.client
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from bench.run import ROOT, Server, free_port

BINDIRS = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
BINDIR = Path(BINDIRS[-1]) if BINDIRS else None
AS_ROOT = os.geteuid() == 0


def _has_postgres_user() -> bool:
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return False
    return True


pytestmark = [
    pytest.mark.postgres_restart,
    pytest.mark.skipif(
        BINDIR is None or not (BINDIR / "initdb").exists(),
        reason="PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb) are not installed",
    ),
    pytest.mark.skipif(
        AS_ROOT and (shutil.which("runuser") is None or not _has_postgres_user()),
        reason="running as root needs runuser and a postgres user (PostgreSQL refuses root)",
    ),
]

# Each answer within this, also while the database is down (it fails at once: a refused
# connection; DB_CONNECT_TIMEOUT bounds a silent network at 3 s).
FAST = 2.5
# Requests succeed again within this after the cluster accepts connections again.
RECOVERY = 5.0
WAIT = 30.0  # the longest wait for any one step before the test gives up

PATHS = {
    "api": "/api/v1/articles/?search=restart",  # never a stored payload: a query every time
    "html": "/admin/",  # a session cookie to look up: a query every time
    "cached": "/api/v1/articles/",  # the stored payload of the list: no query once warm
}
KINDS = tuple(PATHS)
SESSION_COOKIE = f"sessionid={secrets.token_hex(16)}"


class Cluster:
    """A PostgreSQL cluster of this test: its own directory, port and postmaster."""

    def __init__(self) -> None:
        assert BINDIR is not None
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="pg-restart-"))
        self.data = self.directory / "data"
        self.process: subprocess.Popen[bytes] | None = None
        if AS_ROOT:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run(
            str(BINDIR / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        )

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _as_owner(self, *command: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *command] if AS_ROOT else list(command)

    def _run(self, *command: str) -> None:
        subprocess.run(self._as_owner(*command), check=True, capture_output=True)

    def start(self) -> float:
        """Start the postmaster; return the moment it accepts connections."""
        self.process = subprocess.Popen(
            self._as_owner(
                str(BINDIR / "postgres"),
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-k",
                str(self.directory),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "synchronous_commit=off",
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                psycopg.connect(self.url, connect_timeout=1).close()
                return time.monotonic()
            except psycopg.OperationalError:
                time.sleep(0.05)
        raise RuntimeError("PostgreSQL did not start")

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])

    def stop(self) -> float:
        """Fast shutdown (SIGINT to this cluster's postmaster): open connections are
        terminated, as in a restart. Return the moment it is down."""
        assert self.process is not None
        os.kill(self.postmaster_pid(), signal.SIGINT)
        self.process.wait(timeout=WAIT)
        self.process = None
        return time.monotonic()

    def remove(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(OSError, ValueError):  # gone already
                os.kill(self.postmaster_pid(), signal.SIGQUIT)  # immediate shutdown
            self.process.wait(timeout=WAIT)
        shutil.rmtree(self.directory, ignore_errors=True)


@dataclass(frozen=True)
class Answer:
    kind: str  # one of KINDS
    started: float
    seconds: float
    status: int  # 0: no answer (a socket error or a timeout)
    content_type: str = ""
    retry_after: str | None = None
    body: str = ""

    @property
    def ok(self) -> bool:
        return self.status == (302 if self.kind == "html" else 200)


class Load:
    """One thread asking, in turn, an API list that queries the database, an admin page that
    looks a session up in it, and the article list served from its stored payload; every
    answer kept with when it started."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.answers: list[Answer] = []
        self.changed = threading.Condition()
        self.running = threading.Event()
        self.running.set()
        self.paused = threading.Event()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _get(self, kind: str) -> Answer:
        path = PATHS[kind]
        headers = {"Cookie": SESSION_COOKIE} if kind == "html" else {}
        started = time.monotonic()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", path, headers={"Accept": "*/*", **headers})
            response = connection.getresponse()
            body = response.read().decode(errors="replace")
        except OSError:
            return Answer(kind, started, time.monotonic() - started, 0)
        finally:
            connection.close()
        return Answer(
            kind,
            started,
            time.monotonic() - started,
            response.status,
            response.getheader("Content-Type", ""),
            response.getheader("Retry-After"),
            body,
        )

    def _run(self) -> None:
        kinds = KINDS
        n = 0
        while not self.done.is_set():
            if not self.running.is_set():
                self.paused.set()
                self.running.wait()
                self.paused.clear()
            answer = self._get(kinds[n % len(kinds)])
            n += 1
            with self.changed:
                self.answers.append(answer)
                self.changed.notify_all()

    def wait_for(self, predicate, what: str) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: predicate(self.answers), timeout=WAIT), what

    def stop(self) -> None:
        self.done.set()
        self.running.set()
        self.thread.join(timeout=WAIT)


def _each_kind(answers: list[Answer], count: int, condition) -> bool:
    return all(sum(1 for a in answers if a.kind == k and condition(a)) >= count for k in KINDS)


def test_a_restarted_postgresql_is_picked_up_and_its_outage_is_a_quick_503_never_a_500():
    began = time.monotonic()
    cluster = Cluster()
    server = load = None
    try:
        cluster.start()
        env = {
            "DJANGO_SETTINGS_MODULE": "tests.server_settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "DATABASE_URL": cluster.url,
            "DB_CONN_MAX_AGE": "600",  # connections kept: the restart must not strand them
            "REDIS_URL": "",
            "LOG_LEVEL": "CRITICAL",
        }
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env={**os.environ, **env},
            check=True,
        )
        server = Server("granian", 1, 2, env)
        load = Load(int(server.base.rsplit(":", 1)[1]))
        ready = time.monotonic()

        # Up: every answer a success.
        load.wait_for(lambda a: _each_kind(a, 3, lambda x: x.ok), "no successes before the stop")
        stopping = time.monotonic()
        down = cluster.stop()
        load.wait_for(  # an outage of a second at least, answered all along
            lambda a: (
                _each_kind(a, 4, lambda x: x.started > down)
                and any(x.started > down + 1 for x in a)
            ),
            "no answers while down",
        )
        starting = time.monotonic()
        up = cluster.start()
        load.wait_for(
            lambda a: _each_kind(a, 3, lambda x: x.started > up and x.ok),
            "no successes within the wait after the restart",
        )
        # Then a restart between two requests: the kept connections are stale, and checked.
        load.running.clear()
        assert load.paused.wait(timeout=WAIT)
        paused_at = len(load.answers)
        cluster.stop()
        cluster.start()
        load.running.set()
        load.wait_for(lambda a: len(a) >= paused_at + 5, "no answers after the second restart")
        load.stop()
        answers = list(load.answers)
    finally:
        if load is not None:
            load.stop()
        if server is not None:
            server.stop()
        cluster.remove()

    before = [a for a in answers if a.started + a.seconds < stopping]
    during = [a for a in answers if a.started > down and a.started + a.seconds < starting]
    after = [a for a in answers if a.started > up]
    recovered = min(a.started + a.seconds for a in after if a.ok) - up
    print(
        f"\nPostgreSQL restart: {len(answers)} answers; up {len(before)} (all 2xx/3xx), "
        f"down {down - stopping:.2f} s after the stop, {len(during)} answers while down "
        f"(slowest {max(a.seconds for a in during):.3f} s), success again "
        f"{recovered:.3f} s after it accepted connections; slowest answer of all "
        f"{max(a.seconds for a in answers):.3f} s; setup {ready - began:.1f} s, "
        f"whole test {time.monotonic() - began:.1f} s"
    )

    assert all(a.status != 0 for a in answers), "every request was answered"
    assert not [a.status for a in answers if a.status >= 500 and a.status != 503]
    assert max(a.seconds for a in answers) <= FAST
    assert all(a.ok for a in before)
    assert _each_kind(during, 2, lambda a: True)
    # What is served from the cache goes on answering.
    assert all(a.ok for a in during if a.kind == "cached")
    for answer in (a for a in during if a.kind != "cached"):
        assert answer.status == 503
        assert answer.retry_after == "5"
        if answer.kind == "api":
            assert answer.content_type == "application/json"
            assert '"status":503,"code":"unavailable"' in answer.body
        else:
            assert answer.content_type.startswith("text/html")
            assert "This page is unavailable right now" in answer.body
    assert recovered <= RECOVERY
    assert all(a.ok for a in after[-5:]), "the last answers after the restart all succeed"
    # The restart between requests: no request failed on a stale kept connection.
    assert all(a.ok for a in answers[paused_at:])
