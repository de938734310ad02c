"""Settings come from the environment and refuse unsafe production set-ups."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def readme_production_env() -> dict[str, str]:
    """The environment of the README's "Production settings" block, a fresh SECRET_KEY where
    it says to generate one."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- production-env[^>]*-->\n```sh\n(.*?)```", readme, re.S)
    assert block, "README.md lost its production-env block"
    env = {}
    for line in block.group(1).splitlines():
        name, _, value = line.partition("=")
        env[name] = secrets.token_urlsafe(50) if value.startswith("<generate") else value
    return env


PRODUCTION = readme_production_env()


def manage(*args, env):
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_exactly(command: list[str], env: dict[str, str]):
    """``command`` in a process whose environment is ``env`` and nothing else."""
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


SHOW_SETTINGS = (
    "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'cms.settings'; django.setup(); "
    "from django.conf import settings as s; "
    "print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, "
    "s.LOG_FORMAT, s.SECRET_KEY.startswith('django-insecure-'))"
)


def test_the_readme_production_settings_pass_the_deploy_check_with_nothing_else():
    assert {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "SECURE_SSL_REDIRECT"} <= PRODUCTION.keys()
    command = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    result = run_exactly(command, PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    shown = run_exactly([sys.executable, "-c", SHOW_SETTINGS], PRODUCTION)
    assert shown.stdout.split() == ["False", "True", "True", "31536000", "json", "False"]


def test_without_any_environment_development_defaults_hold_for_make_run():
    # `make run` sets nothing: DEBUG on, plain HTTP, the development key, readable logs.
    assert run_exactly([sys.executable, "manage.py", "check"], {}).returncode == 0
    shown = run_exactly([sys.executable, "-c", SHOW_SETTINGS], {})
    assert shown.stdout.split() == ["True", "False", "False", "0", "logfmt", "True"], shown


def test_the_deploy_check_fails_when_a_production_setting_is_dropped():
    for name, weaker in [("SECURE_HSTS_SECONDS", "0"), ("SESSION_COOKIE_SECURE", "0")]:
        env = {**PRODUCTION, name: weaker}
        command = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
        assert run_exactly(command, env).returncode != 0, name


def test_production_refuses_to_start_without_a_secret_key():
    env = {**PRODUCTION, "SECRET_KEY": ""}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off." in result.stderr


def test_a_malformed_boolean_is_a_readable_error():
    result = manage("check", env={"DEBUG": "maybe"})
    assert result.returncode != 0
    assert "DEBUG must be one of" in result.stderr


def test_page_settings_refuse_what_would_break_the_pages():
    cases = [
        ({"ARTICLE_PAGE_SLOTS": "leaderboard,Bad Key"}, "'Bad Key' is not a slot key"),
        ({"ARTICLE_PAGE_PROMO_SLOT": "strip|x"}, "'strip|x' is not a slot key"),
        ({"SITE_PAGE_BASE_URL": "www.example.com"}, "SITE_PAGE_BASE_URL: give an http(s) URL"),
        ({"SITE_PAGE_BASE_URL": "javascript:alert(1)"}, "SITE_PAGE_BASE_URL: give an http(s)"),
    ]
    for env, message in cases:
        result = manage("check", env=env)
        assert result.returncode != 0, env
        assert message in result.stderr, (env, result.stderr[-400:])
        assert "Traceback" not in result.stderr, "a readable message, not a traceback"
    assert (
        manage("check", env={"SITE_PAGE_BASE_URL": "https://www.example.com/news"}).returncode == 0
    )
