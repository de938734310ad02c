"""The Content-Security-Policy header: on every page, with the nonce its inline blocks carry,
never an inline style or script without one, and none on answers no browser renders.

The browser's side (the pages work under it, no violation) is
tests/e2e/test_content_security_policy.py.
"""

import base64
import hashlib
import re
import subprocess
import sys
from pathlib import Path

import django_prose_editor
import pytest
from django.conf import settings

from tests.cms.factories import ArticleFactory, BlockFactory
from tests.sponsors.factories import UserFactory

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.django_db


def nonce_of(response) -> str:
    match = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"])
    assert match, response["Content-Security-Policy"]
    return match.group(1)


def test_the_editors_injected_stylesheet_is_the_one_the_policy_allows_by_hash():
    editor = Path(django_prose_editor.__file__).parent / "static/django_prose_editor/editor.js"
    # Tiptap's base stylesheet, a template literal in the bundle, injected as a <style>.
    css = re.search(r"`(\.ProseMirror \{\n  position: relative;\n\}.*?)`", editor.read_text(), re.S)
    assert css, "django-prose-editor no longer bundles Tiptap's base stylesheet as before"
    digest = base64.b64encode(hashlib.sha256(css.group(1).encode()).digest()).decode()
    assert f"'sha256-{digest}'" == settings.CSP_PROSE_EDITOR_STYLE_HASH


def test_pages_carry_the_policy_and_their_inline_blocks_its_nonce(client):
    login = client.get("/partners/login/")
    assert f'<style nonce="{nonce_of(login)}">' in login.content.decode()
    policy = login["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "img-src 'self' data:",
    ):
        assert directive in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy

    docs = client.get("/api/docs/")
    assert f'<script nonce="{nonce_of(docs)}">' in docs.content.decode()

    # A second answer has a nonce of its own.
    assert nonce_of(client.get("/partners/login/")) != nonce_of(login)


def test_the_rich_text_editors_import_map_carries_the_nonce(client):
    editor = UserFactory(username="boss", is_staff=True, is_superuser=True)
    article = ArticleFactory(status="draft", published_at=None)
    BlockFactory(article=article, position=1, kind="paragraph", text="Hello.")
    client.force_login(editor)
    page = client.get(f"/admin/cms/article/{article.pk}/change/")
    assert page.status_code == 200
    assert f'<script type="importmap" nonce="{nonce_of(page)}">' in page.content.decode()


def test_error_pages_carry_the_policy_and_json_or_empty_answers_none(client):
    not_found = client.get("/articles/no-such-article/")
    assert (
        not_found.status_code == 404
        and "default-src 'self'" in not_found["Content-Security-Policy"]
    )
    for path in ("/api/v1/health/", "/api/v1/articles/", "/api/v1/ads/click/not-a-token/"):
        assert "Content-Security-Policy" not in client.get(path), path


# In templates: a style attribute, or an inline <style>/<script> without the nonce (a JSON
# data block and a script loaded by src are fine). In Python (the admins' format_html): a
# style attribute.
TEMPLATE_OFFENCE = re.compile(
    r"""\sstyle=["']|<style(?![^>]*nonce)[\s>]|<script(?![^>]*(src=|nonce|application/json))[\s>]"""
)
PYTHON_OFFENCE = re.compile(r"""\sstyle=\\?["']""")
TEMPLATE_COMMENT = re.compile(r"{% comment %}.*?{% endcomment %}|{#.*?#}", re.S)


def test_no_template_or_admin_html_has_a_style_attribute_or_an_inline_script_without_nonce():
    offenders = []
    for source in ROOT.glob("templates/**/*.html"):
        text = TEMPLATE_COMMENT.sub("", source.read_text())
        offenders += [f"{source}: {m.group(0)}" for m in TEMPLATE_OFFENCE.finditer(text)]
    for source in [*ROOT.glob("cms/**/*.py"), *ROOT.glob("sponsors/**/*.py")]:
        text = source.read_text()
        offenders += [f"{source}: {m.group(0)}" for m in PYTHON_OFFENCE.finditer(text)]
    assert offenders == []


def test_report_only_mode_sends_the_same_policy_as_a_report():
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'cms.settings'; django.setup(); "
        "from django.test import Client; r = Client().get('/partners/login/'); "
        "print('Content-Security-Policy' in r); print(r['Content-Security-Policy-Report-Only'])"
    )
    env = {"CSP_REPORT_ONLY": "1", "CSP_REPORT_URI": "https://csp.example.com/report"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    enforced, report_only = result.stdout.splitlines()[-2:]
    assert enforced == "False"
    assert "default-src 'self'" in report_only
    assert "report-uri https://csp.example.com/report" in report_only
