"""Debian's Chromium for the browser tests: where it is, its flags, and the skip without it."""

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
