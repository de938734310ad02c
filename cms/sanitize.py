"""Text cleaning shared by every field that people outside the newsroom can write.

Rich text keeps a small inline subset (bold, italics, links, line breaks) cleaned by nh3
(the Ammonia sanitizer); everything else (script, styles, event handlers, ``javascript:``
URLs, comments) is removed. Plain text has every tag stripped and is stored as text, not
HTML: "Q&A" stays "Q&A", and every page or client escapes it when it shows it.
"""

import html
import re

import nh3

RICH_TEXT_TAGS = {"a", "b", "strong", "i", "em", "br"}
RICH_TEXT_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}


def clean_rich_text(value: str) -> str:
    """Return ``value`` reduced to the safe inline subset of HTML."""
    if not value:
        return ""
    return nh3.clean(
        value,
        tags=RICH_TEXT_TAGS,
        attributes=RICH_TEXT_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    ).strip()


def clean_plain_text(value: str) -> str:
    """Return ``value`` as plain text: every tag removed, entities decoded.

    Decoding can reveal new tags (``&lt;script&gt;``), so strip and decode until nothing
    changes: the result never contains markup, even after one more decode by a careless client.
    """
    text = value or ""
    for _ in range(10):
        cleaned = html.unescape(nh3.clean(text, tags=set(), attributes={}, strip_comments=True))
        if cleaned == text:
            break
        text = cleaned
    return text.strip()


# A body block is one paragraph; the editor wraps its text in <p> elements (one per Enter).
_EDITOR_PARAGRAPH_BREAK = re.compile(r"</p>\s*<p(?:\s[^>]*)?>", re.IGNORECASE)


def rich_text_from_editor(value: str) -> str:
    """Return the rich-text editor's HTML as a block's stored text: its paragraphs joined by
    line breaks, then cleaned like any rich text (whatever the browser actually sent)."""
    return clean_rich_text(_EDITOR_PARAGRAPH_BREAK.sub("<br>", value or ""))
