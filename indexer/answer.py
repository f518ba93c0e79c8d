"""Reply-ready answers: the text an agent can send after a glance.

An article with a reply section (``## 标准答复`` / ``## 回复模板`` / ``## Reply``) answers
with that section, whole (``source="template"``). Any other article answers with a
passage (``source="passage"``): the sentence of the best chunk that matches most query
terms, grown by neighbouring sentences of the same section (chunk sentences first,
then sentences with query terms, then the following one) while the plain text stays
within ``max_chars``. A line that is only bold text counts as a sub-heading and is
not crossed. A passage is cut only at sentence ends (Chinese 。！？；, English
``. ! ?``, line breaks); a single sentence longer than the limit is cut at a clause
mark if one is near the end, else hard, and ends in ``…``.

Both kinds are converted to plain text (:mod:`indexer.plaintext`). Placeholders such
as ``{订单号}`` in a template are filled from ``context``; the caller masks personal data
in the values first (the service does). Values are plain text: any HTML markup in
them is removed (:mod:`indexer.markup`), then they are whitespace-normalised and cut
to :data:`MAX_VALUE_CHARS`. Placeholders without a value stay as ``{name}`` and their
positions in the answer text are returned. Passages are never treated as templates.

The query itself is only used to pick sentences; none of its text is copied.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from indexer.article import HEADING_LINE_RE
from indexer.chunk import split_sentences
from indexer.markup import strip_markup
from indexer.plaintext import plain_text
from indexer.validate import PLACEHOLDER_RE, reply_section

AnswerSource = Literal["template", "passage"]
MAX_VALUE_CHARS = 100
ELLIPSIS = "…"

# A line that is only bold text ("**How to tell**") works as a sub-heading: a passage stays on one side.
_BOLD_LINE_RE = re.compile(r"[ \t]*(?:\*\*|__)[^*_\n]+(?:\*\*|__)[ \t]*[:：]?[ \t]*")
# A "sentence" that is only a list number, or ends in an abbreviation, belongs to the next one.
_FRAGMENT_RE = re.compile(r"^\d{1,3}\.$|(?:^|\W)(?:e\.g|i\.e|mrs?|ms|dr|vs)\.$", re.IGNORECASE)
_CLAUSE_MARKS = frozenset("，、：,:—")


@dataclass(frozen=True, slots=True)
class Placeholder:
    """An unfilled ``{name}`` in an answer: ``text[start:end] == "{name}"``."""

    name: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Answer:
    """The reply-ready text for one article.

    ``start``/``end`` delimit the article-body text the answer was made from.
    """

    text: str
    source: AnswerSource
    start: int
    end: int
    placeholders: tuple[Placeholder, ...] = ()
    filled: tuple[str, ...] = ()


def clean_value(value: str, limit: int = MAX_VALUE_CHARS) -> str:
    """A context value as plain text on one line, at most ``limit`` characters (cut with ``…``)."""
    value = " ".join(strip_markup(value).split())
    return value if len(value) <= limit else value[: limit - 1].rstrip() + ELLIPSIS


def fill_placeholders(text: str, context: Mapping[str, str]) -> tuple[str, tuple[Placeholder, ...], tuple[str, ...]]:
    """Replace ``{name}`` by ``context[name]`` where a non-blank value is given.

    Args:
        text: template text.
        context: placeholder values, already masked by the caller.

    Returns:
        The text, the unfilled placeholders (positions in the returned text), and the
        names that were filled (each once, in order of first use).
    """
    values = {k.strip(): clean_value(v) for k, v in context.items()}
    parts: list[str] = []
    open_: list[Placeholder] = []
    filled: list[str] = []
    length = last = 0
    for m in PLACEHOLDER_RE.finditer(text):
        parts.append(text[last : m.start()])
        length += m.start() - last
        name = m.group(1)
        value = values.get(name)
        if value:
            parts.append(value)
            length += len(value)
            if name not in filled:
                filled.append(name)
        else:
            parts.append(m.group(0))
            open_.append(Placeholder(name, length, length + len(m.group(0))))
            length += len(m.group(0))
        last = m.end()
    parts.append(text[last:])
    return "".join(parts), tuple(open_), tuple(filled)


def _section(body: str, start: int, end: int) -> tuple[int, int]:
    """Bounds of the heading-delimited section holding ``body[start:end]``."""
    sec_start, sec_end = 0, len(body)
    for m in HEADING_LINE_RE.finditer(body):
        if m.end() <= start:
            sec_start = m.end()
        elif m.start() >= end:
            sec_end = m.start()
            break
    return sec_start, sec_end


def _sentences(body: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans of ``body[start:end]`` for answers.

    Unlike chunking, a list number ("1."), an abbreviation ("e.g.") or an English
    clause ending in ``;`` is glued to the rest of its line: none ends a sentence.
    """
    spans = split_sentences(body[start:end], start)
    out: list[tuple[int, int]] = []
    carry: int | None = None
    for i, (s, e) in enumerate(spans):
        if carry is not None:
            s, carry = carry, None
        nxt = spans[i + 1][0] if i + 1 < len(spans) else None
        if nxt is not None and (_FRAGMENT_RE.search(body[s:e]) or (body[e - 1] == ";" and "\n" not in body[e:nxt])):
            carry = s
            continue
        out.append((s, e))
    return out


def _hits(text: str, terms: Sequence[str]) -> int:
    low = text.lower()
    return sum(1 for t in terms if t in low)


class _Plain:
    """A section as plain text, sliced by body offsets (built once per section: see :func:`_plain`)."""

    def __init__(self, body: str, start: int, end: int, lang: str) -> None:
        self.text, self.pos = plain_text(body, start, end, lang)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Plain-text indices ``[i, j)`` of the body range ``[start, end)``, whitespace trimmed."""
        i, j = bisect_left(self.pos, start), bisect_left(self.pos, end)
        while i < j and self.text[i].isspace():
            i += 1
        while j > i and self.text[j - 1].isspace():
            j -= 1
        return i, j

    def length(self, start: int, end: int) -> int:
        i, j = self.span(start, end)
        return j - i


# Plain-text conversion is the costly part of an answer and depends only on the article,
# so it is cached: the suggest path answers the same popular articles over
# and over. Keys hold the body string itself (its hash is computed once per string object).
@lru_cache(maxsize=4096)
def _plain(body: str, start: int, end: int, lang: str) -> _Plain:
    return _Plain(body, start, end, lang)


@lru_cache(maxsize=4096)
def _template(body: str, lang: str) -> tuple[int, int, str] | None:
    span = reply_section(body)
    if span is None:
        return None
    text, _ = plain_text(body, span[0], span[1], lang)
    return (span[0], span[1], text) if text else None


def _cut(plain: _Plain, start: int, end: int, lang: str, max_chars: int) -> Answer:
    """One over-long sentence, cut to ``max_chars`` including the ellipsis."""
    i, j = plain.span(start, end)
    text = plain.text[i:j]
    limit = max(1, max_chars - len(ELLIPSIS))
    cut = limit
    for k in range(limit, int(limit * 0.6), -1):
        if text[k - 1] in _CLAUSE_MARKS or (lang != "zh" and text[k].isspace()):
            cut = k
            break
    kept = text[:cut].rstrip(" ，、：,:—")
    return Answer(kept + ELLIPSIS, "passage", start, plain.pos[i + len(kept) - 1] + 1)


def passage_answer(
    body: str, chunk: tuple[int, int], terms: Sequence[str], lang: str = "zh", max_chars: int = 300
) -> Answer:
    """The passage around the best chunk that best answers the query (see the module docstring).

    Args:
        body: the article body.
        chunk: ``(start, end)`` of the best-matching chunk in ``body``.
        terms: query terms (lower-case); only used to choose sentences.
        lang: the article's language.
        max_chars: upper bound of the answer text length.

    Returns:
        A ``passage`` answer; empty text when the body has no text.
    """
    c_start, c_end = chunk
    if c_end <= c_start:  # a title-only chunk: answer from the first section with text
        c_start = c_end = 0
        for m in HEADING_LINE_RE.finditer(body):
            if body[c_end : m.start()].strip():
                break
            c_start = c_end = m.end()
    c_end = max(c_end, c_start + 1)
    sec_start, sec_end = _section(body, c_start, c_end)
    plain = _plain(body, sec_start, sec_end, lang)
    sents: list[tuple[int, int]] = []
    blocks: list[int] = []
    block = 0
    for s, e in _sentences(body, sec_start, sec_end):
        if _BOLD_LINE_RE.fullmatch(body[s:e]) or HEADING_LINE_RE.fullmatch(body[s:e]):
            block += 1
        elif plain.length(s, e):
            sents.append((s, e))
            blocks.append(block)
    if not sents:
        return Answer("", "passage", c_start, c_start)
    words = [t.lower() for t in terms if t and (len(t) > 1 or not t.isascii())]
    in_chunk = {i for i, (s, e) in enumerate(sents) if s < c_end and e > c_start} or {0}
    hits = [_hits(body[s:e], words) for s, e in sents]
    anchor = max(sorted(in_chunk), key=lambda i: (hits[i], -i))
    if plain.length(*sents[anchor]) > max_chars:
        return _cut(plain, *sents[anchor], lang, max_chars)
    lo = hi = anchor
    while True:
        near = [i for i in (lo - 1, hi + 1) if 0 <= i < len(sents) and blocks[i] == blocks[anchor]]
        # Prefer the chunk's own sentences, then sentences with query terms, then the following one.
        near.sort(key=lambda i: (i in in_chunk, hits[i] > 0, i > hi), reverse=True)
        for i in near:
            if plain.length(sents[min(lo, i)][0], sents[max(hi, i)][1]) <= max_chars:
                lo, hi = min(lo, i), max(hi, i)
                break
        else:
            break
    start, end = sents[lo][0], sents[hi][1]
    i, j = plain.span(start, end)
    return Answer(plain.text[i:j], "passage", start, end)


def build_answer(
    body: str,
    chunk: tuple[int, int],
    terms: Sequence[str] = (),
    *,
    lang: str = "zh",
    context: Mapping[str, str] | None = None,
    max_chars: int = 300,
) -> Answer:
    """The reply-ready answer of one article for one query.

    Args:
        body: the article body (Markdown).
        chunk: ``(start, end)`` of the best-matching chunk in ``body``.
        terms: query terms; they choose the passage and are never copied into it.
        lang: the article's language (``zh`` or ``en``).
        context: placeholder values, PII already masked by the caller.
        max_chars: maximum length of a passage answer; a template is returned whole.

    Returns:
        The template (placeholders filled where ``context`` has a value) or the passage.
    """
    template = _template(body, lang)
    if template is not None:
        start, end, text = template
        filled_text, open_, filled = fill_placeholders(text, context or {})
        return Answer(filled_text, "template", start, end, open_, filled)
    return passage_answer(body, chunk, terms, lang, max_chars)
