"""HTML markup never survives into the plain text the API returns."""

from html.parser import HTMLParser

import pytest

from indexer.answer import build_answer, fill_placeholders
from indexer.markup import markup_spans, strip_markup
from indexer.plaintext import plain_text

ATTACKS = [
    "…<img src=x onerror=alert('title')>规则",
    "<img/src=x/onerror=alert(1)>",
    "<details/open/ontoggle=alert(1)>",
    "<svg\nonload=alert(1)>",
    "<a href='x>y' onclick=alert(1)>link</a>",
    "<<img src=x>img src=x onerror=alert(1)>",
    "<scr<script>ipt>alert(1)</script>",
    "<!--><img src=x onerror=alert(1)>-->",
    "<style>@import 'x'</style><script>alert(1)</script>",
    "text <img src=x onerror=alert(1)",
    "text <!-- unfinished",
    "<![CDATA[<img src=x onerror=alert(1)>]]>",
    "</p foo=<img src=x onerror=alert(1)>>",
]


class _Markup(HTMLParser):
    """Counts what a parser sees as markup in a text, for assertions."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=False)
        self.found: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.found.append(tag)

    def handle_endtag(self, tag):
        self.found.append("/" + tag)

    def handle_comment(self, data):
        self.found.append("!--")

    def handle_decl(self, decl):
        self.found.append("!")

    def unknown_decl(self, data):
        self.found.append("![")

    def handle_pi(self, data):
        self.found.append("?")


def assert_plain(text: str) -> None:
    assert _Markup(text).found == [], text
    assert not any(
        text[i] == "<" and (text[i + 1 : i + 2].isalpha() or text[i + 1 : i + 2] in "/!?") for i in range(len(text) - 1)
    ), text


@pytest.mark.parametrize("attack", ATTACKS)
def test_no_markup_survives_strip_markup(attack):
    assert_plain(strip_markup(attack))


@pytest.mark.parametrize("attack", ATTACKS)
def test_no_markup_survives_plain_text(attack):
    passage = f"# 标题\n\n您好，{attack}请稍候。\n"
    template = f"# 标题\n\n## 标准答复\n\n您好，{attack}请稍候。\n"
    assert_plain(plain_text(passage)[0])
    assert build_answer(passage, (0, len(passage)), []).source == "passage"
    assert_plain(build_answer(passage, (0, len(passage)), []).text)
    assert build_answer(template, (0, len(template)), []).source == "template"
    assert_plain(build_answer(template, (0, len(template)), []).text)


@pytest.mark.parametrize("attack", ATTACKS)
def test_no_markup_survives_context_values(attack):
    text, _, _ = fill_placeholders("您好{客户称呼}，请稍候。", {"客户称呼": attack})
    assert_plain(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("…<img src=x onerror=alert('title')>规则", "…规则"),
        ("a<img/src=x/onerror=alert(1)>b", "ab"),
        ("<details/open/ontoggle=alert(1)>x", "x"),
        ("退款 <b>3–5</b> 天", "退款 3–5 天"),
        ("金额 < 100 元，时效 > 3 天", "金额 < 100 元，时效 > 3 天"),
        ("&lt;b&gt; stays &amp; as written", "&lt;b&gt; stays &amp; as written"),
        ("see <https://example.com/a>", "see https://example.com/a"),
        ("ok<script>alert(1)</script>", "ok"),
        ("{订单号}", "{订单号}"),
    ],
)
def test_strip_markup_keeps_the_text(text, expected):
    assert strip_markup(text) == expected


def test_markup_spans_locate_tags():
    text = "a<b>c</b>d"
    assert markup_spans(text) == [(1, 4), (5, 9)]
    assert markup_spans("no tags, 1 < 2") == []


def test_a_tag_across_lines_is_removed_and_offsets_still_point_into_the_body():
    body = "第一行<img\nsrc=x\nonerror=alert(1)>第二行\n<https://example.com>"
    text, pos = plain_text(body)
    assert text == "第一行第二行\nhttps://example.com"
    for ch, p in zip(text, pos, strict=True):
        if ch != "\n":
            assert body[p] == ch
