"""The Article record, the vocabulary its front matter may use and the Markdown structure of its body."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date

# A Markdown (ATX) heading starts a line with one to six "#", then whitespace and its text.
HEADING_MARK = "#{1,6}"


def _heading_line(mark: str) -> re.Pattern[str]:
    """A whole heading line whose marker matches ``mark``."""
    return re.compile(rf"^{mark}\s.*$", re.MULTILINE)


HEADING_LINE_RE = _heading_line(HEADING_MARK)
# A level-1 heading: the line that normally repeats the article's title.
TITLE_LINE_RE = _heading_line("#")

LANGS = ("zh", "en")
AUDIENCES = ("public", "internal")
STATUSES = ("draft", "published", "archived")
# A recorded content gap (the service's ``kbassist gaps list``) an article may name in its ``gap:`` field.
# The service derives its ids in this shape; the indexer only checks the shape and carries the string.
GAP_ID_RE = re.compile(r"gap-[0-9a-f]{12}")
REQUIRED_FIELDS = (
    "id",
    "title",
    "lang",
    "category",
    "tags",
    "product",
    "channel",
    "audience",
    "status",
    "authors",
    "updated",
    "review_by",
)


@dataclass(slots=True)
class Article:
    """One knowledge-base article, as parsed from Markdown or an export row.

    ``body`` is the text after the front matter; chunk offsets index into it.
    ``body_line`` is the 1-based line of the source file where the body starts.
    """

    id: str
    title: str
    body: str
    lang: str = "zh"
    category: str = ""
    tags: list[str] = field(default_factory=list)
    product: str = "all"
    channel: list[str] = field(default_factory=list)
    audience: str = "public"
    status: str = "published"
    authors: list[str] = field(default_factory=list)
    updated: date | None = None
    review_by: date | None = None
    gap: str | None = None
    source: str = ""
    body_line: int = 1
    # The last hash and the very strings it was computed from: a build asks for it several times an article.
    _hashed: tuple[tuple[str, ...], str] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def content_hash(self) -> str:
        """Hash of everything that is embedded or indexed for this article."""
        parts = (self.id, self.title, self.lang, self.body)
        if self._hashed is not None and all(a is b for a, b in zip(self._hashed[0], parts, strict=True)):
            return self._hashed[1]
        h = hashlib.sha256()
        for part in parts:
            h.update(part.encode("utf-8"))
            h.update(b"\x00")
        digest = h.hexdigest()[:32]
        self._hashed = (parts, digest)
        return digest

    def is_stale(self, today: date) -> bool:
        """True when the article's review date has passed."""
        return self.review_by is not None and self.review_by < today

    def metadata(self) -> dict[str, object]:
        """The JSON-safe metadata stored with a build (everything but the body)."""
        return {
            "id": self.id,
            "title": self.title,
            "lang": self.lang,
            "category": self.category,
            "tags": list(self.tags),
            "product": self.product,
            "channel": list(self.channel),
            "audience": self.audience,
            "authors": list(self.authors),
            "updated": self.updated.isoformat() if self.updated else None,
            "review_by": self.review_by.isoformat() if self.review_by else None,
            "gap": self.gap,
            "source": self.source,
            "content_hash": self.content_hash,
        }
