"""An ad-ops day in a real browser (Debian's Chromium), as the demo ``adops`` login on the demo
data: see what is behind pace on the dashboard, open its report and chart, download its CSV,
extend a countdown and issue a partner token, which the partner then uses.

A failing step saves a screenshot of the page (its path is in the failure message).
"""

import csv
import datetime as dt
import io
import json
import urllib.request
from pathlib import Path

from django.core.management import call_command
from django.utils import timezone

from sponsors.models import Countdown
from tests.e2e.browser import NEEDS_CHROMIUM

BEHIND = "Contoso Cloud: media platforms"  # the demo campaign delivering behind its pace

pytestmark = NEEDS_CHROMIUM


def test_ad_ops_run_their_day_in_the_admin(seeded, live_server, browser_page):
    # All database work before the browser starts (see tests/e2e/test_countdown_widget.py).
    call_command("load_demo_data", "--admin-password", "pw", stdout=io.StringIO())
    countdown = Countdown.objects.get(slug="lantern-awards-for-marketing")
    phase = countdown.phases.filter(deadline__gt=timezone.now()).order_by("deadline").first()
    assert phase is not None
    moved = (phase.deadline + dt.timedelta(days=2)).astimezone(countdown.zone)
    base = live_server.url

    with browser_page() as page:
        page.goto(f"{base}/admin/login/")
        page.fill("#id_username", "adops")
        page.fill("#id_password", "pw")
        page.click("input[type=submit]")

        # The dashboard: the campaign behind pace, with a link to its report.
        page.wait_for_selector("text=Campaigns behind pace")
        behind = page.locator("tr", has_text=BEHIND).first
        assert "%" in behind.inner_text()
        behind.get_by_role("link", name=f"Report of {BEHIND}").click()

        # Its report: the campaign's row, the totals and a drawn chart.
        page.wait_for_selector("canvas[data-delivery-chart]")
        assert BEHIND in page.content()
        drawn = page.evaluate(
            "() => Chart.getChart(document.querySelector('canvas[data-delivery-chart]'))"
            ".data.datasets.map((d) => d.data.reduce((a, b) => a + b, 0))"
        )
        assert drawn[0] > 0, "the chart draws the campaign's impressions"

        # Its CSV: the same figures, the totals line last.
        with page.expect_download() as download:
            page.get_by_role("link", name="Download CSV").click()
        rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text())))
        header, totals = rows[0], rows[-1]
        assert totals[0] == "total"
        assert int(totals[header.index("impressions")]) == drawn[0]

        # Extend the countdown from the dashboard's link.
        page.goto(f"{base}/admin/")
        page.get_by_role("link", name=f"Extend {countdown.title}").click()
        page.select_option("#id_phase", str(phase.pk))
        page.fill("#id_new_deadline_0", moved.strftime("%Y-%m-%d"))
        page.fill("#id_new_deadline_1", moved.strftime("%H:%M:%S"))
        page.fill("#id_reason", "Entries are still coming in")
        page.locator("input[type=submit][value=Extend]").click()
        page.wait_for_selector(".messagelist .success")

        # Issue the demo partner a new API token; the partner's API accepts it.
        page.goto(f"{base}/admin/sponsors/partner/")
        page.get_by_role("link", name="partner", exact=True).click()
        page.get_by_role("link", name="Issue a new API token").click()
        page.locator("input[type=submit][value='Issue a new API token']").click()
        key = page.inner_text("code.api-token").strip()

    request = urllib.request.Request(
        f"{base}/api/v1/submissions/", headers={"Authorization": f"Token {key}"}
    )
    with urllib.request.urlopen(request) as answer:
        assert answer.status == 200
    # The extension is served: the countdown's deadline is the new time.
    with urllib.request.urlopen(f"{base}/api/v1/countdowns/{countdown.slug}/") as answer:
        served = json.loads(answer.read())
    deadline = dt.datetime.fromisoformat(served["deadline"].replace("Z", "+00:00"))
    assert deadline == moved.replace(microsecond=0)
