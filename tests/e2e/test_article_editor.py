"""The article body editor in a real browser (Debian's Chromium): the rich-text editor loads
from this site's static files, an editor types bold text, and the saved block stores
``<strong>``; dragging a block by its title bar (django-admin-sortable2) saves the new order,
and a block added on the page gets its editor and goes last.

Set ``E2E_SCREENSHOT_DIR`` to keep a PNG of the change page there. A failing step saves a
screenshot of the page (its path is in the failure message).
"""

import os
from pathlib import Path

from django.contrib.auth.models import Group, User

from tests.cms.factories import ArticleFactory, BlockFactory
from tests.e2e.browser import NEEDS_CHROMIUM

pytestmark = NEEDS_CHROMIUM


def test_editor_types_bold_text_and_the_block_stores_strong(seeded, live_server, browser_page):
    # All database work before the browser starts (see tests/e2e/conftest.py).
    user = User.objects.create_user("ed", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Editors"))
    article = ArticleFactory(status="draft", published_at=None, headline="Editing in place")
    BlockFactory(article=article, position=1, kind="paragraph", text="Start.")
    BlockFactory(article=article, position=2, kind="heading", text="A heading")
    BlockFactory(article=article, position=3, kind="quote", text="Quoted words.")
    change = f"{live_server.url}/admin/cms/article/{article.pk}/change/"
    errors: list[str] = []

    with browser_page() as page:
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on(
            "request",
            lambda request: (
                None
                if request.url.startswith(live_server.url) or request.url.startswith("data:")
                else errors.append(f"off-site request: {request.url}")
            ),
        )
        page.goto(f"{live_server.url}/admin/login/?next={change}")
        page.fill("#id_username", "ed")
        page.fill("#id_password", "pw")
        page.click("input[type=submit]")

        # The editor replaced the paragraph's and the quote's text boxes; the heading keeps its
        # plain box; every block has sortable2's drag handle.
        first = page.locator("#blocks-0 .field-rich_text .ProseMirror")
        first.wait_for()
        assert page.locator("#blocks-1 .field-rich_text").is_hidden()
        assert page.locator("#blocks-1 .field-text textarea").is_visible()
        assert page.locator("#blocks-2 .field-rich_text .ProseMirror").is_visible()
        assert page.locator("#blocks-group .inline-related h3 .sort .move-begin").count() == 3
        assert first.inner_html().count("Start.") == 1

        first.click()
        page.keyboard.press("End")
        page.keyboard.type(" Plain then ")
        page.keyboard.press("Control+b")
        page.keyboard.type("bold words")
        page.keyboard.press("Control+b")
        assert "<strong>bold words</strong>" in first.inner_html()
        if os.environ.get("E2E_SCREENSHOT_DIR"):
            shots = Path(os.environ["E2E_SCREENSHOT_DIR"])
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / "article-editor.png"), full_page=True)

        # Drag the quote by its title bar above the paragraph.
        quote_bar = page.locator("#blocks-2 h3").bounding_box()
        top_bar = page.locator("#blocks-0 h3").bounding_box()
        assert quote_bar and top_bar
        page.mouse.move(quote_bar["x"] + 60, quote_bar["y"] + quote_bar["height"] / 2)
        page.mouse.down()
        for step in range(1, 21):
            y = quote_bar["y"] + (top_bar["y"] - quote_bar["y"]) * step / 20
            page.mouse.move(quote_bar["x"] + 60, y)
        page.mouse.up()
        assert page.input_value("#id_blocks-2-position") == "1"
        assert page.input_value("#id_blocks-0-position") == "2"

        # A block added on the page gets its editor too, and goes last.
        page.click("#blocks-group .add-row a")
        added = page.locator("#blocks-3 .field-rich_text .ProseMirror")
        added.click()
        page.keyboard.type("Added at the end")

        page.click("input[name=_continue]")
        page.wait_for_selector(".messagelist .success")
        # The reloaded page lists the blocks in their stored order; the plain box of a
        # paragraph holds its stored text as it is.
        assert page.locator("#blocks-0 h3").inner_text().startswith("Body block: Pull quote")
        assert page.input_value("#blocks-0 .field-text textarea") == "Quoted words."
        stored = page.input_value("#blocks-1 .field-text textarea")
        assert stored == "Start. Plain then <strong>bold words</strong>"
        assert page.locator("#blocks-2 h3").inner_text().startswith("Body block: Heading")
        assert page.input_value("#blocks-3 .field-text textarea") == "Added at the end"

    assert errors == []
