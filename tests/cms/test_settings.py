"""Settings come from the environment and refuse unsafe production set-ups."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "x7Jq2mVb9pLr4sTn8wYc1zKd6fHg3aUe5oIi0QvXyBnMlRtZpCs",
    "ALLOWED_HOSTS": "ads.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://ads.example.com",
}


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


def test_production_settings_pass_the_deploy_check():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr


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
