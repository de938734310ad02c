"""An XSS corpus through every partner-controlled text field, to every page and API answer.

Each vector goes into the headline, standfirst, hero caption and alt text, and every kind of
body block (paragraph, heading, quote and its attribution, list item), is approved into an
article and published; then the admin pages that show it (the moderation queue, the
submission, its approve and reject pages, the article's change form, list and preview), the
partner's own page and the API answers (submission, article, insights) are checked: no
script, no event handler, no ``javascript:``-style URL survives as live markup.
"""

from __future__ import annotations

import json
import re
from html import unescape
from html.parser import HTMLParser
from typing import Any

import pytest

from cms import services
from cms.models import Article, Submission
from tests.images import image_bytes, upload
from tests.sponsors.factories import PartnerFactory, editor_user

pytestmark = pytest.mark.django_db

VECTORS = [
    "<script>alert('xss')</script>",
    "<SCRIPT SRC=//xss.example/x.js></SCRIPT>",
    "<img src=x onerror=alert('xss')>",
    "<IMG SRC=\"javascript:alert('xss');\">",
    "<IMG SRC=JaVaScRiPt:alert('xss')>",
    '<img src=`javascript:alert("xss")`>',
    "<svg onload=alert('xss')>",
    "<svg><script>alert('xss')</script></svg>",
    "<body onload=alert('xss')>",
    "<iframe src=\"javascript:alert('xss')\"></iframe>",
    "<iframe srcdoc=\"<script>alert('xss')</script>\"></iframe>",
    "<a href=\"javascript:alert('xss')\">click</a>",
    "<a href=\"JaVaScRiPt:alert('xss')\">click</a>",
    "<a href=\"&#106;avascript:alert('xss')\">click</a>",
    "<a href=\"jav&#x09;ascript:alert('xss')\">click</a>",
    "<a href=\" javascript:alert('xss')\">click</a>",
    "<a href=\"javascript&colon;alert('xss')\">click</a>",
    "<a href=\"vbscript:msgbox('xss')\">click</a>",
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgneHNzJyk8L3NjcmlwdD4=">xss</a>',
    '<a href="#" onclick="alert(\'xss\')">click</a>',
    '<a href="https://example.com/" onmouseover="alert(\'xss\')">hover</a>',
    "<div style=\"background:url(javascript:alert('xss'))\">box</div>",
    "<div style=\"width: expression(alert('xss'))\">box</div>",
    "<style>@import 'javascript:alert(\"xss\")';</style>",
    "<link rel=stylesheet href=\"javascript:alert('xss')\">",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(\'xss\')">',
    "<object data=\"javascript:alert('xss')\"></object>",
    "<embed src=\"javascript:alert('xss')\">",
    "<form action=\"javascript:alert('xss')\"><button>go</button></form>",
    "<button formaction=\"javascript:alert('xss')\">go</button>",
    "<input autofocus onfocus=alert('xss')>",
    "<select onfocus=alert('xss') autofocus>",
    "<textarea onfocus=alert('xss') autofocus>",
    "<details open ontoggle=alert('xss')>",
    "<video><source onerror=\"alert('xss')\"></video>",
    "<audio src=x onerror=alert('xss')>",
    "<marquee onstart=alert('xss')>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert('xss')>",
    "\"><script>alert('xss')</script>",
    "'><img src=x onerror=alert('xss')>",
    "</textarea><script>alert('xss')</script>",
    "</title><script>alert('xss')</script>",
    "<!--<script>alert('xss')</script>-->",
    "<scr<script>ipt>alert('xss')</scr</script>ipt>",
    "<<script>alert('xss');//<</script>",
    '<img """><script>alert(\'xss\')</script>">',
    "<b onmouseover=alert('xss')>bold</b>",
    "<i style=\"x:expression(alert('xss'))\">it</i>",
    "&lt;script&gt;alert('xss')&lt;/script&gt;",
    "<base href=\"javascript:alert('xss')//\">",
    "<isindex type=image src=1 onerror=alert('xss')>",
    "<img src=x:alert(alt) onerror=eval(src) alt=xss>",
    "<svg><a xlink:href=\"javascript:alert('xss')\"><text>x</text></a></svg>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert('xss')>\">",
    "<template><script>alert('xss')</script></template>",
    "<frameset onload=alert('xss')>",
    "<table background=\"javascript:alert('xss')\"><tr><td>cell</td></tr></table>",
    "<x onclick=alert('xss')>custom</x>",
    "<a href=\"javascript:alert('xss')\"><b>nested</b></a>",
    "javascript:alert('xss')",
]

URL_ATTRIBUTES = {
    "href",
    "src",
    "action",
    "formaction",
    "data",
    "background",
    "poster",
    "xlink:href",
    "lowsrc",
    "dynsrc",
    "content",
}
# Attributes whose value is shown as text, never run: partner text may land in them.
TEXT_ATTRIBUTES = {"value", "alt", "title", "placeholder", "aria-label"}
BAD_SCHEMES = re.compile(r"^(javascript|vbscript|data:text/html|livescript)", re.IGNORECASE)
# The only markup the API may carry in its text: the sanitizer's inline subset.
API_TAGS = {"a", "b", "strong", "i", "em", "br"}
MARKER = "xss"
# Elements whose content browsers parse differently from Python (mutation XSS): none of our
# pages use them, so any of them is a sign of injected markup.
NEVER_EXPECTED = {"math", "noscript", "template", "xmp", "plaintext", "noembed", "noframes"}


class LiveMarkupFinder(HTMLParser):
    """Collects executable constructs an HTML document (or fragment) would give a browser."""

    def __init__(self, *, allowed_tags: set[str] | None = None) -> None:
        super().__init__(convert_charrefs=True)
        self.allowed_tags = allowed_tags
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.allowed_tags is not None and tag not in self.allowed_tags:
            self.problems.append(f"tag <{tag}>")
        if tag in NEVER_EXPECTED:
            self.problems.append(f"tag <{tag}>")
        if tag in ("script", "style"):
            self._in_script = True
        # A <meta name=… content=…> (a description) is text; only http-equiv's content acts.
        text_attributes = TEXT_ATTRIBUTES
        if tag == "meta" and not any(name == "http-equiv" for name, _ in attrs):
            text_attributes = TEXT_ATTRIBUTES | {"content"}
        for name, value in attrs:
            value = value or ""
            squeezed = re.sub(r"[\s\x00-\x1f]+", "", unescape(value))
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…>")
            if name in URL_ATTRIBUTES and BAD_SCHEMES.match(squeezed.split("url=")[-1]):
                self.problems.append(f"<{tag} {name}={value!r}>")
            if name == "style" and re.search(r"expression|javascript:|url\(", squeezed, re.I):
                self.problems.append(f"<{tag} style={value!r}>")
            if name == "srcdoc":
                self.problems.append(f"<{tag} srcdoc>")
            if MARKER in value.lower() and name not in text_attributes:
                self.problems.append(f"<{tag} {name}={value!r}> carries the payload")
        if tag in ("script", "iframe", "object", "embed", "base", "frameset") and any(
            MARKER in (value or "").lower() for _, value in attrs
        ):
            self.problems.append(f"<{tag}> with the payload")

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and MARKER in data.lower():
            self.problems.append(f"script or style body {data[:60]!r}")


def live_markup(html: str, *, allowed_tags: set[str] | None = None) -> list[str]:
    finder = LiveMarkupFinder(allowed_tags=allowed_tags)
    finder.feed(html)
    finder.close()
    return finder.problems


def strings(value: Any):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def assert_api_clean(payload: Any) -> None:
    for text in strings(payload):
        assert not live_markup(text, allowed_tags=API_TAGS), (text, live_markup(text))


def assert_page_clean(response) -> str:
    assert response.status_code == 200, response.status_code
    page = response.content.decode()
    assert not live_markup(page), live_markup(page)
    return page


# Vectors that are inert when echoed as they are, and dangerous only if a sanitizer mangles
# them (decoding entities, stripping a tag once, dropping comment markers, linkifying).
INERT_WHEN_ECHOED = {
    "<!--<script>alert('xss')</script>-->",
    "<scr<script>ipt>alert('xss')</scr</script>ipt>",
    "&lt;script&gt;alert('xss')&lt;/script&gt;",
    "javascript:alert('xss')",
}


def test_the_corpus_is_big_enough_and_the_checker_catches_raw_vectors():
    assert len(VECTORS) >= 50
    missed = [v for v in VECTORS if v not in INERT_WHEN_ECHOED and not live_markup(f"<p>{v}</p>")]
    assert missed == []
    # A page's description is text; a refresh's content is a URL that acts.
    assert not live_markup('<meta name="description" content="About xss filters">')
    assert live_markup('<meta http-equiv="refresh" content="0;url=javascript:alert(1)">')


def submission_data(vector: str) -> dict:
    blocks = [
        {"type": "paragraph", "text": f"Paragraph {vector} end"},
        {"type": "heading", "text": f"Heading {vector}"},
        {"type": "quote", "text": f"Quote {vector}", "attribution": f"Source {vector}"},
        {"type": "list", "items": [f"Item {vector}", "Plain item"]},
    ]
    return {
        "headline": f"Headline {vector}",
        "standfirst": f"Standfirst {vector}",
        "hero_caption": f"Caption {vector}",
        "hero_alt": f"Alt {vector}",
        "body": json.dumps(blocks),
        "hero_image": upload("hero.png", image_bytes("PNG", size=(8, 8))),
    }


@pytest.fixture
def partner():
    return PartnerFactory(sponsor__name="Mallory Media")


@pytest.fixture
def staff_client(client):
    client.force_login(editor_user())
    return client


@pytest.mark.parametrize("vector", VECTORS)
def test_no_live_script_survives_any_partner_field(vector, partner, api_client, staff_client):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {partner.user.auth_token.key}")
    created = api_client.post("/api/v1/submissions/", submission_data(vector), format="multipart")
    assert created.status_code == 201, created.json()
    assert_api_clean(created.json())
    submission = Submission.objects.get()
    assert_api_clean(api_client.get(f"/api/v1/submissions/{submission.pk}/").json())

    # What editors see before deciding.
    base = f"/admin/cms/submission/{submission.pk}"
    page = assert_page_clean(staff_client.get(f"{base}/change/"))
    assert "Paragraph" in page and "Item" in page and "Source" in page  # the fields are shown
    assert_page_clean(staff_client.get(f"{base}/approve/"))

    # Approved into a draft article, then published.
    assert staff_client.post(f"{base}/approve/").status_code == 302
    article = Article.objects.get()
    assert_page_clean(staff_client.get(f"/admin/cms/article/{article.pk}/change/"))
    assert_page_clean(staff_client.get(f"/preview/articles/{article.pk}/"))
    services.articles_publish_now(articles=Article.objects.filter(pk=article.pk))
    detail = api_client.get(f"/api/v1/articles/{article.slug}/").json()
    assert detail["hero"]["alt"] and len(detail["body"]) == 4
    assert_api_clean(detail)


def test_no_live_script_survives_in_lists(partner, api_client, staff_client, settings):
    """Every vector at once in the pages that list submissions and articles."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"submissions": "1000/hour"},
    }
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {partner.user.auth_token.key}")
    for vector in VECTORS:
        data = {**submission_data(vector), "body": json.loads(submission_data(vector)["body"])}
        del data["hero_image"]
        assert api_client.post("/api/v1/submissions/", data, format="json").status_code == 201
    ids = list(Submission.objects.values_list("pk", flat=True))
    assert_api_clean(api_client.get("/api/v1/submissions/?page_size=100").json())
    assert_page_clean(staff_client.get("/admin/cms/submission/"))
    asked = staff_client.post(
        "/admin/cms/submission/", {"action": "reject_selected", "_selected_action": ids}
    )
    assert_page_clean(asked)
    approved = staff_client.post(
        "/admin/cms/submission/",
        {"action": "approve_selected", "_selected_action": ids},
        follow=True,
    )
    assert f"{len(VECTORS)} submission(s) approved" in assert_page_clean(approved)
    services.articles_publish_now(articles=Article.objects.all())
    assert_page_clean(staff_client.get("/admin/cms/article/"))
    insights = api_client.get("/api/v1/insights/?page_size=100").json()
    assert insights["count"] == len(VECTORS)
    assert_api_clean(insights)
    assert_api_clean(api_client.get("/api/v1/articles/?page_size=100").json())
    staff_client.force_login(partner.user)
    assert_page_clean(staff_client.get("/partners/"))


def test_no_live_script_survives_the_text_body(partner, api_client, staff_client):
    """The body_text path (and the form page) parses text into blocks: same guarantee."""
    lines = []
    for number, vector in enumerate(VECTORS):
        prefix = ["", "## ", "- ", "> "][number % 4]
        lines.append(f"{prefix}Line {vector}")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {partner.user.auth_token.key}")
    response = api_client.post(
        "/api/v1/submissions/",
        {"headline": "Text body", "body_text": "\n\n".join(lines)},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert {block["type"] for block in response.json()["body"]} == {
        "paragraph",
        "heading",
        "list",
        "quote",
    }
    assert_api_clean(response.json())
    submission = Submission.objects.get()
    assert_page_clean(staff_client.get(f"/admin/cms/submission/{submission.pk}/change/"))
    staff_client.post(f"/admin/cms/submission/{submission.pk}/approve/")
    article = Article.objects.get()
    assert_page_clean(staff_client.get(f"/preview/articles/{article.pk}/"))
    services.articles_publish_now(articles=Article.objects.filter(pk=article.pk))
    assert_api_clean(api_client.get(f"/api/v1/articles/{article.slug}/").json())
