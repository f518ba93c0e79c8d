"""Content checks behind ``kbassist validate`` and every build.

Errors make an article unusable (the build skips it, ``--strict`` fails the build);
warnings (stale review date, link to an unpublished article, raw HTML, twins that disagree, complaint
labels outside the taxonomy: :mod:`indexer.consistency`) are reported only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml

from indexer.article import (
    AUDIENCES,
    GAP_ID_RE,
    HEADING_LINE_RE,
    HEADING_MARK,
    LANGS,
    REQUIRED_FIELDS,
    STATUSES,
    TITLE_LINE_RE,
    Article,
)
from indexer.consistency import label_problems, twin_problems
from indexer.markup import markup_spans
from indexer.parse import Problem, find_links
from indexer.sources import Entry

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
PLACEHOLDER_RE = re.compile(r"\{([^{}\s]{1,40})\}")
REPLY_HEADINGS = ("标准答复", "回复模板", "Reply")
_REPLY_HEADING_RE = re.compile(rf"^{HEADING_MARK}\s*(" + "|".join(REPLY_HEADINGS) + r")\s*$", re.MULTILINE)


@dataclass(slots=True)
class Vocabulary:
    """Allowed front-matter values from ``_taxonomy.yaml``; an empty set allows anything."""

    categories: set[str] = field(default_factory=set)
    products: set[str] = field(default_factory=set)
    channels: set[str] = field(default_factory=set)
    complaint_scenes: set[str] = field(default_factory=set)
    complaint_root_causes: set[str] = field(default_factory=set)
    placeholders: set[str] | None = None

    @classmethod
    def load(cls, folder: Path) -> Vocabulary:
        """Read ``_taxonomy.yaml`` and ``_placeholders.txt`` from a content folder, if present."""
        vocab = cls()
        taxonomy = folder / "_taxonomy.yaml"
        if taxonomy.is_file():
            data = yaml.safe_load(taxonomy.read_text(encoding="utf-8")) or {}
            vocab.categories = {str(v) for v in data.get("categories", [])}
            vocab.products = {str(v) for v in data.get("products", [])}
            vocab.channels = {str(v) for v in data.get("channels", [])}
            vocab.complaint_scenes = {str(v) for v in data.get("complaint_scenes", [])}
            vocab.complaint_root_causes = {str(v) for v in data.get("complaint_root_causes", [])}
        placeholders = folder / "_placeholders.txt"
        if placeholders.is_file():
            names = set()
            for line in placeholders.read_text(encoding="utf-8").splitlines():
                name = line.split("#", 1)[0].strip()
                if name:
                    names.add(name)
            vocab.placeholders = names
        return vocab


@dataclass(slots=True)
class Report:
    """What validation found: problems, and the articles that may be indexed."""

    problems: list[Problem]
    articles: list[Article]

    @property
    def errors(self) -> list[Problem]:
        """Problems of severity ``error``."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """Problems of severity ``warning``."""
        return [p for p in self.problems if p.severity == "warning"]


def reply_section(body: str) -> tuple[int, int] | None:
    """Character span of the reply section (heading excluded) in ``body``, or None."""
    m = _REPLY_HEADING_RE.search(body)
    if m is None:
        return None
    start = m.end()
    nxt = HEADING_LINE_RE.search(body, start)
    end = nxt.start() if nxt else len(body)
    while start < end and body[start] in "\r\n":
        start += 1
    while end > start and body[end - 1] in " \r\n\t":
        end -= 1
    return (start, end)


def _source_path(art: Article) -> str:
    """The file an article came from (export rows carry ``file:line`` in ``source``)."""
    if art.source.endswith(".md") or ":" not in art.source:
        return art.source
    return art.source.rsplit(":", 1)[0]


def _check_placeholders(article: Article, vocab: Vocabulary, path: str) -> Iterable[Problem]:
    span = reply_section(article.body)
    if span is None:
        return
    text = article.body[span[0] : span[1]]
    base_line = article.body_line + article.body.count("\n", 0, span[0])
    for lineno, line in enumerate(text.split("\n")):
        where = base_line + lineno
        stripped = PLACEHOLDER_RE.sub("", line)
        if "{" in stripped or "}" in stripped:
            yield Problem(path, where, "malformed placeholder (unbalanced or empty braces)")
        for m in PLACEHOLDER_RE.finditer(line):
            name = m.group(1)
            if vocab.placeholders is not None and name not in vocab.placeholders:
                yield Problem(path, where, f"unknown placeholder {{{name}}} (not in _placeholders.txt)")


def _check_markup(article: Article, path: str, title_line: int, is_markdown: bool) -> Iterable[Problem]:
    """Raw HTML is removed from titles and answers (:mod:`indexer.markup`): say where, once a line."""
    spans = markup_spans(article.title, autolinks=False)
    if spans:
        start, end = spans[0]
        yield Problem(
            path,
            title_line,
            f"raw HTML {article.title[start:end][:40]!r} in the title is not shown; titles are plain text",
            "warning",
        )
    seen: set[int] = set()
    for start, end in markup_spans(article.body, autolinks=False):
        where = article.body_line + (article.body.count("\n", 0, start) if is_markdown else 0)
        if where not in seen:
            seen.add(where)
            yield Problem(
                path,
                where,
                f"raw HTML {article.body[start:end][:40]!r} is removed from answers; write Markdown instead",
                "warning",
            )


def validate(entries: list[Entry], vocab: Vocabulary, today: date | None = None) -> Report:
    """Check every entry and return the report.

    Args:
        entries: article candidates from :func:`indexer.sources.read_entries`.
        vocab: allowed values and placeholders.
        today: the date stale checks compare against (default: today).

    Returns:
        Problems found, and the usable articles (no errors) in input order.
    """
    today = today or date.today()
    problems: list[Problem] = []
    bad: set[int] = set()
    seen: dict[str, str] = {}
    for idx, entry in enumerate(entries):
        problems.extend(entry.problems)
        art = entry.article
        if art is None:
            bad.add(idx)
            continue
        if any(p.severity == "error" for p in entry.problems):
            bad.add(idx)
        path = _source_path(art)
        is_markdown = art.source.endswith(".md")

        fallback_line = 1 if is_markdown else art.body_line
        key_lines = entry.key_lines

        def line(key: str, key_lines: dict[str, int] = key_lines, fallback: int = fallback_line) -> int:
            return key_lines.get(key, fallback)

        def err(key: str, msg: str, path: str = path, idx: int = idx) -> None:
            problems.append(Problem(path, line(key), msg))
            bad.add(idx)

        # An export row needs an id and some text; FAQ exports often carry only a title (the question).
        required = REQUIRED_FIELDS if is_markdown else ("id",)
        for key in required:
            if key not in entry.raw or entry.raw[key] in (None, "", []):
                if key in ("tags", "channel") and key in entry.raw:
                    continue
                err(key, f"missing required field '{key}'")
        if art.id and not ID_RE.match(art.id):
            err("id", f"bad id {art.id!r}: use letters, digits, '-', '_' or '.'")
        if art.id:
            if art.id in seen:
                err("id", f"duplicate id {art.id!r} (first defined at {seen[art.id]})")
            else:
                seen[art.id] = f"{path}:{line('id')}"
        if art.lang and art.lang not in LANGS:
            err("lang", f"unknown lang {art.lang!r} (expected one of: {', '.join(LANGS)})")
        if is_markdown or "audience" in entry.raw:
            if art.audience not in AUDIENCES:
                err("audience", f"unknown audience {art.audience!r} (expected one of: {', '.join(AUDIENCES)})")
        if is_markdown or "status" in entry.raw:
            if art.status not in STATUSES:
                err("status", f"unknown status {art.status!r} (expected one of: {', '.join(STATUSES)})")
        if isinstance(entry.raw.get("gap"), list):
            err("gap", "'gap' names one content gap, not a list (e.g. gap: gap-0123456789ab)")
        elif art.gap is not None and not GAP_ID_RE.fullmatch(art.gap):
            err(
                "gap", f"bad gap {art.gap!r}: name one recorded content gap, e.g. gap-0123456789ab (kbassist gaps list)"
            )
        if vocab.categories and art.category and art.category not in vocab.categories:
            err("category", f"unknown category {art.category!r} (see _taxonomy.yaml)")
        if vocab.products and art.product and art.product not in vocab.products:
            err("product", f"unknown product {art.product!r} (see _taxonomy.yaml)")
        for ch in art.channel:
            if vocab.channels and ch not in vocab.channels:
                err("channel", f"unknown channel {ch!r} (see _taxonomy.yaml)")
        text = TITLE_LINE_RE.sub("", art.body, count=1).strip()
        if not text and not art.title.strip():
            err("body", "empty body" if is_markdown else "empty row: neither title nor body")
        elif not text and is_markdown:
            problems.append(Problem(path, art.body_line, "empty body"))
            bad.add(idx)
        if art.review_by is not None and art.review_by < today and art.status == "published":
            problems.append(Problem(path, line("review_by"), f"stale: review_by {art.review_by} has passed", "warning"))
        problems.extend(_check_markup(art, path, line("title"), is_markdown))
        placeholder_problems = list(_check_placeholders(art, vocab, path))
        if placeholder_problems:
            problems.extend(placeholder_problems)
            bad.add(idx)
    ids = {e.article.id: e.article for e in entries if e.article is not None and e.article.id}
    for idx, entry in enumerate(entries):
        art = entry.article
        if art is None:
            continue
        for offset, target in find_links(art.body):
            where = art.body_line + offset
            if target not in ids:
                problems.append(Problem(_source_path(art), where, f"link to unknown article 'kb:{target}'"))
                bad.add(idx)
            elif ids[target].status != "published" and art.status == "published":
                problems.append(
                    Problem(_source_path(art), where, f"link to {ids[target].status} article 'kb:{target}'", "warning")
                )
    located = [(e.article, _source_path(e.article)) for e in entries if e.article is not None]
    problems.extend(twin_problems(located))
    for art, path in located:
        problems.extend(label_problems(art, path, vocab.complaint_scenes, vocab.complaint_root_causes))
    usable = [e.article for i, e in enumerate(entries) if i not in bad and e.article is not None]
    problems.sort(key=lambda p: (p.path, p.line))
    return Report(problems, usable)
