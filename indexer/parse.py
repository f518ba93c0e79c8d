"""Markdown article files -> :class:`Article`, with every problem located by file and line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from indexer.article import Article

_FENCE = "---"
# libyaml's loader when PyYAML was built with it: the pure-Python one spent ~1 ms a file, most of a
# 10k-article folder's read. Both build the same node tree and objects from the safe tags.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
LINK_RE = re.compile(r"\]\(kb:([A-Za-z0-9_.\-]+)\)")


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding about the content, printed as ``file:line: severity: message``."""

    path: str
    line: int
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.severity}: {self.message}"


@dataclass(slots=True)
class ParsedFile:
    """A parsed Markdown file: the article (None if unusable), its problems and key lines."""

    article: Article | None
    problems: list[Problem]
    key_lines: dict[str, int]
    raw: dict[str, Any]


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value if v is not None]
    return [s.strip() for s in str(value).split(",") if s.strip()]


def _as_text(value: Any) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


def _as_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


class _BadValue(ValueError):
    """A front-matter value YAML reads but cannot build (``updated: 2026-13-01``), at its file line."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line


def _load_front_matter(header: str) -> tuple[yaml.Node | None, Any]:
    """The front matter's node tree (for key lines) and its value, from one parse.

    Raises:
        yaml.YAMLError: the text is not YAML.
        _BadValue: a value (an impossible date) cannot be built.
    """
    loader = _Loader(header)
    try:
        node = loader.get_single_node()
        raw = loader.construct_document(node) if node is not None else None
    except ValueError as exc:
        raise _BadValue(_bad_value_line(node), str(exc)) from exc
    finally:
        loader.dispose()
    return node, raw or {}


def _bad_value_line(node: yaml.Node | None) -> int:
    """The file line of the first value under ``node`` that cannot be built (1 if none is found)."""
    if isinstance(node, yaml.MappingNode):
        for _key, value in node.value:
            try:
                yaml.constructor.SafeConstructor().construct_document(value)
            except ValueError:
                return int(value.start_mark.line) + 2
    return 1


def parse_markdown(path: Path, display: str | None = None) -> ParsedFile:
    """Parse one Markdown article with YAML front matter.

    Args:
        path: the file to read.
        display: the name used in problem reports (defaults to ``str(path)``).

    Returns:
        The parsed file; ``article`` is None when the front matter is unusable.
    """
    return parse_bytes(path.read_bytes(), display or str(path))


def parse_bytes(data: bytes, name: str) -> ParsedFile:
    """Parse the bytes of a Markdown article file (see :func:`parse_markdown`); ``name`` locates problems.

    Line ends are read as ``Path.read_text`` reads them: ``\r\n`` and ``\r`` become ``\n``.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return ParsedFile(None, [Problem(name, 1, f"not UTF-8 text ({exc.reason})")], {}, {})
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != _FENCE:
        return ParsedFile(None, [Problem(name, 1, "missing front matter (file must start with '---')")], {}, {})
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == _FENCE), None)
    if end is None:
        return ParsedFile(None, [Problem(name, 1, "front matter is not closed by a '---' line")], {}, {})
    header = "".join(lines[1:end])
    try:
        node, raw = _load_front_matter(header)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = (mark.line + 2) if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        return ParsedFile(None, [Problem(name, line, f"bad YAML in front matter: {problem}")], {}, {})
    except _BadValue as exc:
        return ParsedFile(None, [Problem(name, exc.line, f"bad value in front matter: {exc}")], {}, {})
    if not isinstance(raw, dict) or not isinstance(node, yaml.MappingNode):
        return ParsedFile(None, [Problem(name, 2, "front matter must be a YAML mapping")], {}, {})
    key_lines = {str(k.value): k.start_mark.line + 2 for k, _ in node.value}
    body = "".join(lines[end + 1 :])
    body_line = end + 2
    problems: list[Problem] = []

    def line_of(key: str) -> int:
        return int(key_lines.get(key, 1))

    dates: dict[str, date | None] = {}
    for key in ("updated", "review_by"):
        try:
            dates[key] = _as_date(raw.get(key))
        except ValueError:
            problems.append(Problem(name, line_of(key), f"'{key}' is not a date (YYYY-MM-DD): {raw.get(key)!r}"))
            dates[key] = None
    article_id = raw.get("id")
    article = Article(
        id=str(article_id).strip() if article_id is not None else "",
        title=str(raw.get("title") or "").strip(),
        body=body,
        lang=str(raw.get("lang") or "").strip(),
        category=str(raw.get("category") or "").strip(),
        tags=_as_list(raw.get("tags")),
        product=str(raw.get("product") or "").strip(),
        channel=_as_list(raw.get("channel")),
        audience=str(raw.get("audience") or "").strip(),
        status=str(raw.get("status") or "").strip(),
        authors=_as_list(raw.get("authors")),
        updated=dates["updated"],
        review_by=dates["review_by"],
        gap=_as_text(raw.get("gap")),
        source=name,
        body_line=body_line,
    )
    return ParsedFile(article, problems, key_lines, raw)


def find_links(body: str) -> list[tuple[int, str]]:
    """Return ``(line offset within body, target id)`` for every ``[text](kb:ID)`` link."""
    found = []
    for m in LINK_RE.finditer(body):
        found.append((body.count("\n", 0, m.start()), m.group(1)))
    return found
