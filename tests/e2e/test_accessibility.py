"""axe-core (axe-playwright-python) on every reference page, at desktop and phone widths, on the
demo data: no serious or critical violation. A failing page's screenshot is saved and the
violations are printed (rule, impact, help, the offending elements).
"""

import io

import pytest
from django.core.management import call_command

from cms.demo import FEATURE_SLUG
from tests.e2e.browser import NEEDS_CHROMIUM

pytestmark = NEEDS_CHROMIUM

WAIT_MS = 30_000
WIDTHS = {"desktop": (1280, 900), "phone": (375, 812)}
PAGES = {
    "home": "/",
    "article": f"/articles/{FEATURE_SLUG}/",
    "topic": "/topics/microsoft/",
    "author": "/authors/mei-tan/",
    "sponsor": "/sponsors/reelhouse/",
    "insights": "/insights/",
    "trending": "/trending/",
}
BLOCKING = {"serious", "critical"}


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation.get("nodes", [])[:5]:
            lines.append(f"    {node.get('target')}: {node.get('failureSummary', '')[:300]}")
    return "\n".join(lines)


@pytest.mark.parametrize("width", list(WIDTHS))
def test_every_reference_page_has_no_serious_axe_violation(
    seeded, live_server, launch_browser, tmp_path, width
):
    from axe_playwright_python.sync_playwright import Axe

    # All database work before the browser starts (see tests/e2e/conftest.py).
    call_command("load_demo_data", "--admin-password", "pw", stdout=io.StringIO())
    browser = launch_browser()
    w, h = WIDTHS[width]
    page = browser.new_page(viewport={"width": w, "height": h})
    page.set_default_timeout(WAIT_MS)
    axe = Axe()
    failures = []
    for name, path in PAGES.items():
        try:
            response = page.goto(f"{live_server.url}{path}", wait_until="networkidle")
            assert response is not None and response.status == 200, f"{path} did not answer 200"
            # The strip's countdown has mounted: it is part of what is checked.
            page.wait_for_selector(".promo-strip [data-countdown-state='open']")
        except BaseException as failure:
            shot = tmp_path / f"{name}-{width}.png"
            page.screenshot(path=str(shot), full_page=True)
            raise AssertionError(f"{failure} (screenshot: {shot})") from failure
        results = axe.run(page)
        blocking = [v for v in results.response["violations"] if v.get("impact") in BLOCKING]
        if blocking:
            shot = tmp_path / f"{name}-{width}.png"
            page.screenshot(path=str(shot), full_page=True)
            failures.append(f"{path} at {w}px (screenshot: {shot}):\n{describe(blocking)}")
    page.close()
    assert not failures, "\n\n".join(failures)
