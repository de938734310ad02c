"""Editing an article's body in the admin: paragraphs and quotes in a rich-text editor that
offers only what the sanitizer keeps, blocks reordered by drag and drop (django-admin-sortable2),
and whatever a browser sends cleaned by nh3 before it is stored."""

import html
import json
import re

import pytest
from django.contrib.auth.models import Group, User

from cms import submissions
from cms.models import ArticleBlock
from cms.sanitize import RICH_TEXT_TAGS, rich_text_from_editor
from tests.cms.factories import ArticleFactory, BlockFactory
from tests.sponsors.factories import PartnerFactory, editor_user

pytestmark = pytest.mark.django_db

PASTED = (
    "<p style='color:red'>Hello <b>bold</b> <i>it</i> <u>under</u> "
    "<span class='x'>span</span><script>alert(1)</script><style>p{}</style>"
    '<a href="javascript:alert(1)" onclick="x()">bad</a> '
    '<a href="https://example.com/" target="_blank">good</a>'
    "<h2>Heading</h2><img src=x onerror=alert(1)><iframe src='https://evil'></iframe></p>"
    "<p>Second</p>"
)


@pytest.fixture
def editor(client):
    user = User.objects.create_user("ed", is_staff=True)
    user.groups.add(Group.objects.get(name="Editors"))
    client.force_login(user)
    return user


def change_data(article, blocks):
    """The article change form as the admin posts it, with ``blocks`` as the body formset."""
    data = {
        "headline": article.headline,
        "slug": article.slug,
        "standfirst": article.standfirst,
        "kind": article.kind,
        "status": "draft",
        "published_at_0": "",
        "published_at_1": "",
        "hero_caption": "",
        "hero_alt": "",
        "article_topics-TOTAL_FORMS": "0",
        "article_topics-INITIAL_FORMS": "0",
        "blocks-TOTAL_FORMS": str(len(blocks)),
        "blocks-INITIAL_FORMS": str(sum(1 for b in blocks if "id" in b)),
    }
    for index, block in enumerate(blocks):
        for key, value in block.items():
            data[f"blocks-{index}-{key}"] = value
        data[f"blocks-{index}-article"] = article.pk
    return data


def editor_configs(page: str) -> dict[str, dict]:
    """The prose editor's configuration of each textarea that carries one, by field name."""
    found = re.findall(
        r'<textarea name="([^"]+)"[^>]*data-django-prose-editor-configurable="([^"]*)"', page
    )
    return {name: json.loads(html.unescape(config)) for name, config in found}


def test_change_page_has_the_prose_editor_and_the_sortable_inline(client, editor):
    article = ArticleFactory(status="draft", published_at=None)
    BlockFactory(article=article, position=1, kind="paragraph", text="Hi <strong>there</strong>")
    BlockFactory(article=article, position=2, kind="quote", text="Said <em>so</em>")
    BlockFactory(article=article, position=3, kind="heading", text="A heading")
    page = client.get(f"/admin/cms/article/{article.pk}/change/").content.decode()

    configs = editor_configs(page)
    # Every block has the editor (the script shows it for paragraphs and quotes only).
    assert {"blocks-0-rich_text", "blocks-1-rich_text", "blocks-2-rich_text"} <= set(configs)
    extensions = set(configs["blocks-0-rich_text"]["extensions"])
    offered = extensions - {"Document", "Text", "Paragraph", "Menu", "History", "NoSpellCheck"}
    assert offered == {"Bold", "Italic", "Link", "HardBreak", "Dropcursor", "Gapcursor"}
    assert configs["blocks-0-rich_text"]["extensions"]["Link"]["enableTarget"] is False
    # The stored text is what the editor starts from; headings keep their plain text box.
    assert "Hi &lt;strong&gt;there&lt;/strong&gt;</textarea>" in page
    assert 'name="blocks-2-text"' in page
    # Assets are this site's static files, no CDN.
    assert 'src="/static/django_prose_editor/editor.js"' in page
    assert "/static/django_prose_editor/configurable.js" in page
    assert 'src="/static/adminsortable2/js/adminsortable2' in page
    assert 'src="/static/cms/admin/body-blocks.js"' in page
    assert not re.search(r'(src|href)="(https?:)?//', page)
    # sortable2 owns the order: positions are hidden inputs it renumbers on drop.
    assert 'class="module sortable"' in page
    assert re.search(r'type="hidden" name="blocks-0-position" value="1" class="_reorder_"', page)
    assert "block-move" not in page


def test_saving_reordered_positions_stores_the_new_order(client, editor):
    article = ArticleFactory(status="draft", published_at=None)
    first = BlockFactory(article=article, position=1, kind="paragraph", text="One")
    second = BlockFactory(article=article, position=2, kind="heading", text="Two")
    third = BlockFactory(article=article, position=3, kind="quote", text="Three")
    # What the page posts after dragging the quote to the top.
    data = change_data(
        article,
        [
            {"id": first.pk, "position": "2", "kind": "paragraph", "rich_text": "<p>One</p>"},
            {"id": second.pk, "position": "3", "kind": "heading", "text": "Two"},
            {"id": third.pk, "position": "1", "kind": "quote", "rich_text": "<p>Three</p>"},
        ],
    )
    response = client.post(f"/admin/cms/article/{article.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert [b.text for b in article.blocks.all()] == ["Three", "One", "Two"]


def test_pasted_html_is_cleaned_to_the_allowed_tags_whatever_the_editor_sends(client, editor):
    article = ArticleFactory(status="draft", published_at=None)
    block = BlockFactory(article=article, position=1, kind="paragraph", text="Old")
    data = change_data(
        article,
        [
            {"id": block.pk, "position": "1", "kind": "paragraph", "rich_text": PASTED},
            {"position": "2", "kind": "quote", "rich_text": PASTED, "attribution": "<b>Me</b>"},
        ],
    )
    response = client.post(f"/admin/cms/article/{article.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    for stored in ArticleBlock.objects.filter(article=article):
        tags = set(re.findall(r"<\s*([a-zA-Z0-9]+)", stored.text))
        assert tags <= RICH_TEXT_TAGS, stored.text
        for never in ["script", "style", "alert", "onclick", "onerror", "javascript", "target"]:
            assert never not in stored.text
        assert "<b>bold</b>" in stored.text and "<i>it</i>" in stored.text
        assert 'href="https://example.com/"' in stored.text
        # The editor's paragraphs become line breaks inside the one block.
        assert stored.text.endswith("<br>Second")
    assert ArticleBlock.objects.get(article=article, kind="quote").attribution == "Me"


def test_a_post_without_the_editor_field_still_goes_through_nh3(client, editor):
    article = ArticleFactory(status="draft", published_at=None)
    data = change_data(
        article, [{"position": "1", "kind": "paragraph", "text": "Hi<script>x()</script>"}]
    )
    response = client.post(f"/admin/cms/article/{article.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert article.blocks.get().text == "Hi"


def test_an_empty_editor_is_a_form_error_not_an_empty_paragraph(client, editor):
    article = ArticleFactory(status="draft", published_at=None)
    data = change_data(
        article, [{"position": "1", "kind": "paragraph", "rich_text": "<p></p>", "text": "x"}]
    )
    response = client.post(f"/admin/cms/article/{article.pk}/change/", data)
    assert response.status_code == 200
    assert "A paragraph needs text." in response.content.decode()
    assert not ArticleBlock.objects.exists()


def test_rich_text_from_editor_keeps_only_the_inline_subset():
    assert rich_text_from_editor("<p>a <strong>b</strong></p>\n<p class='x'>c</p>") == (
        "a <strong>b</strong><br>c"
    )
    assert rich_text_from_editor("<p></p>") == ""
    assert rich_text_from_editor("") == ""


def test_partner_submissions_are_still_sanitized():
    partner = PartnerFactory(sponsor__name="Mallory Media")
    submission = submissions.submission_create(
        user=partner.user,
        data={
            "headline": "Headline",
            "standfirst": "Standfirst",
            "body": [
                {"type": "paragraph", "text": PASTED},
                {"type": "quote", "text": PASTED, "attribution": "<i>Src</i>"},
            ],
        },
    )
    article = submissions.submission_approve(submission=submission, by=editor_user())
    assert article is not None
    texts = [block["text"] for block in submission.body]
    texts += [block.text for block in article.blocks.all()]
    assert len(texts) == 4
    for text in texts:
        assert set(re.findall(r"<\s*([a-zA-Z0-9]+)", text)) <= RICH_TEXT_TAGS, text
        assert "script" not in text and "alert" not in text and "style" not in text
        assert "<b>bold</b>" in text
    assert article.blocks.get(kind="quote").attribution == "Src"
