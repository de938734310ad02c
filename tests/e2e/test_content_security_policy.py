"""The Content-Security-Policy in a real browser (Debian's Chromium), on the demo data: the pages
that run scripts and styles work under it, and the browser reports no violation.

Every page listed is opened with the policy the app sends (no 'unsafe-inline', no
'unsafe-eval'; nonces for the few inline blocks), and each is made to do its work: the admin
dashboard, the delivery report and a campaign page draw their charts (the vendored Chart.js),
the article change form gets its rich-text editor (django-prose-editor) and drag handles
(django-admin-sortable2) and takes bold text, the partner's submit page and report render, the
reference article page's promo countdown ticks, Swagger UI lists the operations, and the
reference 404 page renders. A ``securitypolicyviolation`` event, a console message about the
policy or a script error on any of them fails the test.

Set ``E2E_SCREENSHOT_DIR`` to keep a PNG of each page there.
"""

import io
import os
from pathlib import Path

from django.core.management import call_command

from cms.demo import FEATURE_SLUG
from cms.models import Article
from sponsors.models import Campaign
from tests.e2e.browser import NEEDS_CHROMIUM

pytestmark = NEEDS_CHROMIUM

# Collects what the page's documents report, from before any of their own scripts run.
COLLECT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(
    `${e.effectiveDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`
  );
}, true);
"""


def sign_in(page, base: str, path: str, username: str) -> None:
    page.goto(f"{base}{path}")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw")
    page.locator("[type=submit]").click()
    page.wait_for_load_state("networkidle")


def test_every_page_with_scripts_runs_under_the_policy_without_a_violation(
    seeded, live_server, launch_browser
):
    # All database work before the browser starts (see tests/e2e/conftest.py).
    call_command("load_demo_data", "--admin-password", "pw", stdout=io.StringIO())
    article = Article.objects.get(slug=FEATURE_SLUG)
    campaign = Campaign.objects.get(name="Contoso Cloud: media platforms")
    base = live_server.url
    shots = Path(os.environ["E2E_SCREENSHOT_DIR"]) if os.environ.get("E2E_SCREENSHOT_DIR") else None
    if shots:
        shots.mkdir(parents=True, exist_ok=True)

    browser = launch_browser()
    problems: list[str] = []
    policies: dict[str, str] = {}

    def new_page(who: str):
        page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        page.set_default_timeout(30_000)
        page.add_init_script(COLLECT_VIOLATIONS)
        page.on(
            "console",
            lambda m: (
                problems.append(f"{who} console: {m.text}")
                if "Content Security Policy" in m.text
                else None
            ),
        )
        page.on("pageerror", lambda error: problems.append(f"{who} script error: {error}"))
        return page

    def visit(page, name: str, path: str, ready, status: int = 200) -> None:
        response = page.goto(f"{base}{path}")
        assert response is not None and response.status == status, f"{path}: {response}"
        policies[name] = response.headers.get("content-security-policy", "")
        ready(page)
        page.wait_for_load_state("networkidle")
        problems.extend(f"{name} ({path}): {v}" for v in page.evaluate("window.__cspViolations"))
        if shots:
            page.screenshot(path=str(shots / f"csp-{name}.png"), full_page=True)

    def draws_a_chart(page) -> None:
        page.wait_for_selector("canvas[data-delivery-chart]")
        drawn = page.evaluate(
            "() => Chart.getChart(document.querySelector('canvas[data-delivery-chart]'))"
            ".data.datasets.length"
        )
        assert drawn >= 1, "Chart.js drew the delivery chart"

    def edits_rich_text(page) -> None:
        editor = page.locator("#blocks-group .field-rich_text .ProseMirror").first
        editor.wait_for()
        assert page.locator("#blocks-group .inline-related h3 .sort .move-begin").count() >= 2
        editor.click()
        page.keyboard.press("Control+End")  # the end of the block (End is the line's)
        # Plain text first: the editor has read the moved selection before bold is turned on
        # (a selection read late would drop the bold mark under a loaded machine).
        page.keyboard.type(" then ")
        page.keyboard.press("Control+b")
        page.keyboard.type("bold under the policy")
        page.keyboard.press("Control+b")
        assert "<strong>bold under the policy</strong>" in editor.inner_html()

    def ticks(page) -> None:
        page.wait_for_selector(".promo-strip [data-countdown-state='open']")
        clock = page.locator(".promo-strip [data-countdown-part='clock']")
        before = clock.inner_text()
        page.wait_for_function(
            "(before) => document.querySelector(\".promo-strip [data-countdown-part='clock']\")"
            ".textContent !== before",
            arg=before,
        )
        # The screen-reader-only live region stays hidden by the stylesheet's class.
        live = page.locator(".promo-strip [data-countdown-part='live']")
        assert live.evaluate("(el) => getComputedStyle(el).position") == "absolute"
        assert live.bounding_box()["width"] <= 1

    def lists_operations(page) -> None:
        page.wait_for_selector("#swagger-ui .opblock")

    # Ad ops and editorial staff: the superuser sees every admin page.
    staff = new_page("admin")
    sign_in(staff, base, "/admin/login/", "admin")
    visit(staff, "dashboard", "/admin/", lambda p: p.wait_for_selector(".ops-bar rect"))
    visit(
        staff,
        "delivery-report",
        f"/admin/sponsors/deliveryreport/?campaign={campaign.pk}",
        draws_a_chart,
    )
    visit(staff, "campaign", f"/admin/sponsors/campaign/{campaign.pk}/change/", draws_a_chart)
    visit(
        staff,
        "campaign-history",
        f"/admin/sponsors/campaign/{campaign.pk}/history/",
        lambda p: p.wait_for_selector("#change-history"),
    )
    # Two-factor enrollment: the QR code is an inline SVG, styled by the page's stylesheet.
    visit(staff, "two-factor", "/admin/two-factor/", lambda p: p.wait_for_selector(".qr svg"))
    visit(staff, "article-editor", f"/admin/cms/article/{article.pk}/change/", edits_rich_text)
    visit(staff, "reference-article", f"/articles/{FEATURE_SLUG}/", ticks)
    visit(staff, "swagger", "/api/docs/", lists_operations)
    visit(
        staff,
        "not-found",
        "/articles/no-such-article/",
        lambda p: p.wait_for_selector(".error-page"),
        status=404,
    )

    # A partner: the submit page and the report (with its chart).
    partner = new_page("partner")
    sign_in(partner, base, "/partners/login/", "partner")
    visit(partner, "partner-submit", "/partners/submit/", lambda p: p.wait_for_selector("form"))
    visit(partner, "partner-report", "/partners/report/", draws_a_chart)
    browser.close()

    assert problems == []
    for name, policy in policies.items():
        assert "default-src 'self'" in policy, name
        assert "frame-ancestors 'none'" in policy, name
        assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy, name
