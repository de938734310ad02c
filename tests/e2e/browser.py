"""Debian's Chromium for the browser tests: where it is, its flags, and the skip without it."""

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

# Every browser test carries these: it skips, saying why, where Chromium is not installed.
NEEDS_CHROMIUM = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Chromium is not installed at /usr/bin/chromium"
    ),
]


@contextlib.contextmanager
def screenshot_on_failure(page, path: Path) -> Iterator:
    """Inside the ``with``, a failure saves a full-page screenshot of ``page`` at ``path``
    and names it in the failure message."""
    try:
        yield page
    except BaseException as failure:
        page.screenshot(path=str(path), full_page=True)
        raise AssertionError(f"{failure} (screenshot: {path})") from failure
