#!/usr/bin/env python3
"""Schemathesis against the running app: ``make fuzz`` (and a step of ``.ci/run``).

1. A fresh database: SQLite in a temporary directory, or, when ``DATABASE_URL`` names a
   PostgreSQL server, a new database on it (dropped afterwards). Migrations, static files,
   the demo data, and the API tokens of the demo's partner and ad-ops logins.
2. The production server (granian, as ``bench/run.py`` and the README start it) with
   ``DEBUG=0`` on a free 127.0.0.1 port.
3. ``schemathesis run`` over every operation and method of ``/api/schema/``, with every check
   (``.ci/schemathesis.toml`` holds the settings and the few exclusions, each with its
   reason), three times: anonymous, as the partner and as ad-ops. Each run's time and
   summary is printed; any failure (a 5xx, an undocumented status or body, valid data
   refused, invalid data accepted, ...) fails the whole step.

Writes as ad-ops change the fresh database's demo data; nothing else is touched. Options:
``--max-examples N`` (default 20 per operation), ``--seed N`` (default fixed, so a failure
replays), ``--roles anonymous,partner,adops``, ``--keep`` to leave the directory behind.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # a script in .ci/: the project's packages are one level up

from bench.run import Server  # noqa: E402  (the app under granian, as the benchmarks run it)

PYTHON = str(ROOT / ".venv" / "bin" / "python")
SCHEMATHESIS = str(ROOT / ".venv" / "bin" / "schemathesis")
CONFIG = Path(__file__).resolve().parent / "schemathesis.toml"
ROLES = ("anonymous", "partner", "adops")


def fresh_database(workdir: Path) -> tuple[str, str | None]:
    """(DATABASE_URL for the run, the PostgreSQL database to drop afterwards or None)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{workdir / 'fuzz.sqlite3'}", None
    import psycopg  # only needed for PostgreSQL

    name = f"fuzz_{secrets.token_hex(4)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlsplit(url)._replace(path=f"/{name}").geturl(), name


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"manage.py {' '.join(args)} failed")
    return done.stdout


def run_schemathesis(
    base: str, role: str, token: str | None, args: argparse.Namespace, reports: Path
) -> tuple[int, float, str]:
    command = [
        SCHEMATHESIS, "--config-file", str(CONFIG), "--no-color", "run",
        f"{base}/api/schema/", "--url", base, "--checks", "all",
        "--max-examples", str(args.max_examples), "--seed", str(args.seed),
        "--report", "junit", "--report-junit-path", str(reports / f"{role}.xml"),
    ]  # fmt: skip
    if token is not None:
        command += ["--header", f"Authorization: Token {token}"]
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = time.monotonic() - started
    output = done.stdout + done.stderr
    (reports / f"{role}.txt").write_text(output)
    return done.returncode, seconds, output


def summary(output: str) -> str:
    """The run's SUMMARY section (everything from its rule on), or the tail."""
    marker = output.rfind("== SUMMARY ==")
    if marker == -1:
        return "\n".join(output.splitlines()[-40:])
    return output[output.rfind("\n", 0, marker) + 1 :]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=20)
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--roles", default=",".join(ROLES))
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    roles = [role for role in args.roles.split(",") if role]
    unknown = set(roles) - set(ROLES)
    if unknown:
        parser.error(f"unknown roles: {', '.join(sorted(unknown))}")

    workdir = Path(tempfile.mkdtemp(prefix="fuzz-"))
    reports = workdir / "reports"
    reports.mkdir()
    database, pg_name = fresh_database(workdir)
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": database,
        # Redis when given (its own key prefix), else local memory and database counters.
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        "CACHE_KEY_PREFIX": f"fuzz{secrets.token_hex(3)}",
        "MEDIA_ROOT": str(workdir / "media"),
        "STATIC_ROOT": str(workdir / "static"),
        "LOG_LEVEL": "ERROR",
    }
    server = None
    failed: list[str] = []
    try:
        started = time.monotonic()
        manage(env, "migrate", "--noinput", "-v0")
        manage(env, "collectstatic", "--noinput", "-v0")
        manage(env, "load_demo_data", "--admin-password", secrets.token_urlsafe(16))
        tokens = dict(
            line.split("=", 1) for line in manage(env, "demo_tokens").split() if "=" in line
        )
        server = Server("granian", 1, 4, env, log=workdir / "server.log")
        print(
            f"database {database.split('://')[0]}, granian on {server.base}, "
            f"schemathesis {args.max_examples} examples per operation, seed {args.seed} "
            f"(ready in {time.monotonic() - started:.0f} s)",
            flush=True,
        )
        for role in roles:
            token = {"partner": tokens.get("PARTNER_TOKEN"), "adops": tokens.get("ADOPS_TOKEN")}
            rc, seconds, output = run_schemathesis(
                server.base, role, token.get(role), args, reports
            )
            print(f"\n---- schemathesis as {role}: exit {rc}, {seconds:.0f} s ----", flush=True)
            print(output if rc != 0 else summary(output), flush=True)
            if rc != 0:
                failed.append(role)
        print(f"\nschemathesis: {len(roles)} runs in {time.monotonic() - started:.0f} s", end="")
        print(f"; FAILED as {', '.join(failed)}" if failed else "; no failure")
    finally:
        if server is not None:
            server.stop()
        if pg_name is not None:
            drop_database(pg_name)
        if args.keep or failed:
            print(f"reports, server log: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
