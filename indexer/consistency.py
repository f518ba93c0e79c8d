"""Cross-article checks: twins that disagree, and complaint labels outside the standard.

An English twin (``en-ID`` next to ``ID``) is translated by hand and drifts: the Chinese article gets a new
compensation cap, the English one keeps the old figure, and the two desks quote different policies. Prose
cannot be compared, but the figures a customer is promised can: amounts, days, hours and percentages, and
the articles each one sends the reader to. A difference is a warning at both places, never an error, since
a twin may legitimately say less than the original.

Complaint tickets are classified scene → problem → root cause; the scenes and root causes are a closed list
in ``_taxonomy.yaml`` that the weekly reports group by, so an article that teaches agents a label outside it
(``场景"售后维修"``) splits those reports. Labels are read where articles write them: a quoted label after
``场景``/``根因``, a parenthesised list of root causes, and the ``场景``/``根因`` columns of a table.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from indexer.article import Article
from indexer.parse import Problem, find_links

TWIN_PREFIX = "en-"
PENDING_CAUSE = "待定"

_NUM = r"(\d[\d,]*(?:\.\d+)?)(?:\s*(?:[-–~至到]|to)\s*(\d[\d,]*(?:\.\d+)?))?"
_QUANTITIES: dict[str, tuple[re.Pattern[str], ...]] = {
    "amount": (
        re.compile(_NUM + r"\s*(?:元|块钱|yuan\b|CNY\b|RMB\b)", re.IGNORECASE),
        re.compile(r"(?:¥|CNY|RMB)\s*" + _NUM),
    ),
    "days": (re.compile(_NUM + r"[\s-]*(?:个)?(?:(?:自然|工作)日|天|(?:business |working |calendar )?days?\b)"),),
    "hours": (re.compile(_NUM + r"[\s-]*(?:个)?(?:小时|hours?\b|hrs?\b)"),),
    "percent": (re.compile(_NUM + r"\s*(?:%|％|percent\b)"),),
}
# "7×24 小时", "24 小时人工服务" and "24/7" name opening hours, not a time limit, and each language writes
# them its own way.
_ROUND_THE_CLOCK = re.compile(r"7\s*[×x*]\s*24\s*(?:小时|hours?)?|24\s*/\s*7|24\s*小时(?=[紧人在客全])")

_QUOTED_LABEL = re.compile(r"(场景|根因)\s*[：:]?\s*[\"“「]([^\"”」\n]{1,20})[\"”」]")
_CAUSE_LIST = re.compile(r"根因\s*[（(]([^）)\n]{1,80})[）)]")
_NOTE = re.compile(r"[（(][^）)]*[）)]|——.*$")
_SEPARATORS = re.compile(r"[\s/、，,]|或")


@dataclass(frozen=True, slots=True)
class Figure:
    """One stated quantity: its kind, its value as written without separators, and where it is."""

    kind: str
    value: str
    line: int
    text: str


def _figures(article: Article) -> list[Figure]:
    """Every amount, day, hour and percentage stated in the article body, with its file line."""
    found: list[Figure] = []
    for offset, line in enumerate(article.body.split("\n")):
        line = _ROUND_THE_CLOCK.sub(" ", line)
        for kind, patterns in _QUANTITIES.items():
            for pattern in patterns:
                for m in pattern.finditer(line):
                    for value in (m.group(1), m.group(2)):
                        if value:
                            number = value.replace(",", "").rstrip("0").rstrip(".") if "." in value else value
                            found.append(Figure(kind, number.replace(",", ""), article.body_line + offset, m.group(0)))
    return found


def _describe(figures: list[Figure], path: str) -> str:
    if not figures:
        return "none"
    return ", ".join(f"{f.text.strip()!r} at {path}:{f.line}" for f in figures[:4])


def _figure_problems(one: Article, one_path: str, other: Article, other_path: str) -> Iterator[Problem]:
    mine, theirs = _figures(one), _figures(other)
    their_values = {(f.kind, f.value) for f in theirs}
    reported: set[tuple[str, str]] = set()
    for fig in mine:
        key = (fig.kind, fig.value)
        if key in their_values or key in reported:
            continue
        reported.add(key)
        same_kind = [f for f in theirs if f.kind == fig.kind]
        yield Problem(
            one_path,
            fig.line,
            f"states {fig.text.strip()!r} ({fig.kind}) but twin '{other.id}' does not "
            f"(its {fig.kind}: {_describe(same_kind, other_path)})",
            "warning",
        )


def _link_group(target: str, ids: set[str]) -> str:
    """A link target with an English twin's prefix removed, so ``kb:X`` and ``kb:en-X`` count as the same."""
    if target.startswith(TWIN_PREFIX) and target[len(TWIN_PREFIX) :] in ids:
        return target[len(TWIN_PREFIX) :]
    return target


def _has_version_in(group: str, lang: str, ids: set[str]) -> bool:
    """Whether an article of ``group`` exists in ``lang``, so a twin in that language could have linked it."""
    if lang == "en":
        return TWIN_PREFIX + group in ids
    return group in ids and not group.startswith(TWIN_PREFIX)


def _link_problems(one: Article, one_path: str, other: Article, other_path: str, ids: set[str]) -> Iterator[Problem]:
    their_links = [(other.body_line + off, _link_group(t, ids)) for off, t in find_links(other.body)]
    their_groups = {group for _, group in their_links}
    for offset, target in find_links(one.body):
        group = _link_group(target, ids)
        if group in their_groups or not _has_version_in(group, other.lang, ids):
            continue
        where = ", ".join(f"{other_path}:{line}" for line, _ in their_links[:4]) or "none"
        yield Problem(
            one_path,
            one.body_line + offset,
            f"links to 'kb:{target}' but twin '{other.id}' links to neither it nor its twin (its links: {where})",
            "warning",
        )


def twin_problems(articles: Iterable[tuple[Article, str]]) -> list[Problem]:
    """Warnings for every ``ID`` / ``en-ID`` pair whose figures or links differ.

    Args:
        articles: each article with the file it came from.

    Returns:
        One warning per differing figure or link, placed in the file that states it and naming the twin's
        file and lines.
    """
    by_id = {art.id: (art, path) for art, path in articles if art.id}
    ids = set(by_id)
    problems: list[Problem] = []
    for art_id, (zh, zh_path) in by_id.items():
        twin = by_id.get(TWIN_PREFIX + art_id)
        if twin is None or art_id.startswith(TWIN_PREFIX):
            continue
        en, en_path = twin
        problems.extend(_figure_problems(zh, zh_path, en, en_path))
        problems.extend(_figure_problems(en, en_path, zh, zh_path))
        problems.extend(_link_problems(zh, zh_path, en, en_path, ids))
        problems.extend(_link_problems(en, en_path, zh, zh_path, ids))
    return problems


def _unknown_labels(text: str, allowed: set[str]) -> list[str]:
    """Parts of a label list that are not allowed labels (known ones are removed longest first)."""
    rest = _NOTE.sub("", text)
    for label in sorted(allowed, key=len, reverse=True):
        rest = rest.replace(label, " ")
    return [part for part in _SEPARATORS.split(rest) if part]


def _table_columns(header: str) -> dict[int, str]:
    cells = [c.strip() for c in header.strip().strip("|").split("|")]
    return {i: c for i, c in enumerate(cells) if c in ("场景", "根因")}


def label_problems(article: Article, path: str, scenes: set[str], causes: set[str]) -> Iterator[Problem]:
    """Warnings for complaint scenes and root causes outside ``_taxonomy.yaml``.

    Args:
        article: the article to read.
        path: its file, for the warning.
        scenes: allowed scenes (``complaint_scenes``); empty means the taxonomy has none and nothing is checked.
        causes: allowed root causes (``complaint_root_causes``); ``待定`` is always allowed.

    Yields:
        One warning per unknown label, at its line.
    """
    if not scenes and not causes:
        return
    allowed = {"场景": scenes, "根因": causes | {PENDING_CAUSE}}
    columns: dict[int, str] = {}
    for offset, line in enumerate(article.body.split("\n")):
        where = article.body_line + offset
        found: list[tuple[str, str]] = []
        if line.lstrip().startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if _table_columns(line):
                columns = _table_columns(line)
            elif not all(set(c) <= set("-: ") for c in cells):
                found += [(columns[i], cells[i]) for i in columns if i < len(cells)]
        elif not line.lstrip().startswith("#"):
            columns = {}
            found += [(m.group(1), m.group(2)) for m in _QUOTED_LABEL.finditer(line)]
            found += [("根因", m.group(1)) for m in _CAUSE_LIST.finditer(line)]
        for level, text in found:
            for label in _unknown_labels(text, allowed[level]):
                yield Problem(
                    path,
                    where,
                    f"complaint {'scene' if level == '场景' else 'root cause'} {label!r} is not in _taxonomy.yaml "
                    f"(complaint_{'scenes' if level == '场景' else 'root_causes'})",
                    "warning",
                )
