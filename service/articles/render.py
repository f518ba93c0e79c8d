"""Article Markdown → HTML that cannot run script, whatever the article contains.

markdown-it-py renders CommonMark (plus tables, which articles use); raw HTML in an
article passes through it and is then cleaned by nh3 (the Rust ``ammonia`` sanitiser)
with an allow-list: ``<script>``/``<style>`` go with their content, event-handler
attributes and every URL scheme but http, https and mailto are dropped. Escaping raw
HTML instead would show editors' stray tags as text, where titles and answers drop them.

Links to other articles (``kb:ID``) become ``#kb:ID`` fragments the page opens in place;
every other link opens in a new tab without the page as its opener.
"""

from __future__ import annotations

import re
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

TAGS = frozenset(
    {
        *("p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "code"),
        *("ul", "ol", "li", "strong", "em", "del", "a", "img"),
        *("table", "thead", "tbody", "tr", "th", "td"),
    }
)
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
KB_LINK = re.compile(r'href="kb:([A-Za-z0-9][A-Za-z0-9_.\-]*)"')


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough")


def render(markdown: str) -> str:
    """Safe HTML for an article body (see the module docstring)."""
    rendered = _markdown().render(markdown)
    rendered = KB_LINK.sub(r'href="#kb:\1"', rendered)
    return nh3.clean(
        rendered,
        tags=set(TAGS),
        clean_content_tags={"script", "style"},
        attributes={k: set(v) for k, v in ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
        set_tag_attribute_values={"a": {"target": "_blank"}},
    )
