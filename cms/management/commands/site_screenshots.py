"""Screenshots of the reference pages (home and the demo article) at desktop and phone widths.

    manage.py site_screenshots --out screenshots/            # starts a server on this database
    manage.py site_screenshots --out shots/ --url http://127.0.0.1:8000   # uses a running one

Playwright drives Debian's Chromium (``/usr/bin/chromium``, the browser tests' flags). Run
``manage.py load_demo_data`` first so the article page has every part.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
WIDTHS = {"desktop": (1280, 900), "phone": (375, 812)}
START_TIMEOUT = 30.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # our own 127.0.0.1
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise CommandError(f"The server did not answer {url} within {timeout:.0f} s.")


@contextlib.contextmanager
def _server(url: str | None) -> Iterator[str]:
    """The base URL of a server: ``url`` as given, or a runserver started (and stopped) here
    on a free 127.0.0.1 port, serving the static files as well."""
    if url:
        yield url.rstrip("/")
        return
    port = _free_port()
    manage = Path(settings.BASE_DIR) / "manage.py"
    process = subprocess.Popen(  # our own manage.py, fixed arguments
        [sys.executable, str(manage), "runserver", "--noreload", "--insecure", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{base}{reverse('api:health')}", START_TIMEOUT)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


class Command(BaseCommand):
    help = "Save screenshots of the home and article reference pages at desktop and phone widths."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="Folder for the PNG files.")
        parser.add_argument("--url", help="Base URL of a running server (default: start one).")
        parser.add_argument(
            "--article",
            default="",
            help="Slug of the article to shoot (default: the demo's feature article).",
        )

    def handle(self, *args, out: str, url: str | None, article: str, **options):
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as exc:  # a dev dependency (requirements-dev.txt)
            raise CommandError("Playwright is not installed (pip install playwright).") from exc
        if not article:
            from cms.demo import FEATURE_SLUG

            article = FEATURE_SLUG
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        pages = {
            "home": reverse("site:home"),
            "article": reverse("site:article", kwargs={"slug": article}),
        }
        with _server(url) as base, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            try:
                for width_name, (width, height) in WIDTHS.items():
                    page = browser.new_page(viewport={"width": width, "height": height})
                    for page_name, path in pages.items():
                        response = page.goto(f"{base}{path}", wait_until="networkidle")
                        if response is None or response.status != 200:
                            status = response.status if response else "no answer"
                            raise CommandError(f"{base}{path} answered {status}.")
                        shot = folder / f"{page_name}-{width_name}.png"
                        page.screenshot(path=str(shot), full_page=True)
                        self.stdout.write(f"{shot} ({width}px wide)")
                    page.close()
            finally:
                browser.close()
