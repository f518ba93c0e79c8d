"""Request and response schemas of POST /v1/suggest (not tables)."""

from __future__ import annotations

import unicodedata
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from indexer.config import SearchMode
from service.fields import Channel, Lang, Query, TicketId

MAX_CONTEXT_KEYS = 20
MAX_CONTEXT_NAME = 40
MAX_CONTEXT_VALUE = 200


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class SuggestFilters(BaseModel):
    """Metadata filters; each accepts one value or a list (any of them matches)."""

    model_config = ConfigDict(extra="forbid")

    category: list[str] = Field(default_factory=list)
    product: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    channel: list[str] = Field(default_factory=list)

    _lists = field_validator("category", "product", "tags", "channel", mode="before")(_as_list)


class SuggestRequest(BaseModel):
    """POST /v1/suggest body."""

    model_config = ConfigDict(extra="forbid")

    query: Query = Field(min_length=1, description="The customer's message (control characters are removed).")
    ticket_id: TicketId | None = None
    channel: Channel | None = None
    lang: Lang | None = None
    top_k: int = Field(5, ge=1, le=50, strict=True)
    mode: SearchMode = "hybrid"
    filters: SuggestFilters = Field(default_factory=SuggestFilters)
    context: dict[str, str] | None = Field(
        None,
        description='Reply placeholder values, e.g. {"订单号": "…"}; PII in them is masked before use.',
    )

    @field_validator("query")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not any(unicodedata.category(ch)[0] in "LMNPS" for ch in value):
            raise ValueError("must contain a visible character (not only spaces, controls or zero-width ones)")
        return value

    @field_validator("context")
    @classmethod
    def _context_limits(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return value
        if len(value) > MAX_CONTEXT_KEYS:
            raise ValueError(f"at most {MAX_CONTEXT_KEYS} keys")
        for name, text in value.items():
            if not name.strip() or len(name) > MAX_CONTEXT_NAME:
                raise ValueError(f"key {name[:MAX_CONTEXT_NAME]!r}: names are 1–{MAX_CONTEXT_NAME} characters")
            if len(text) > MAX_CONTEXT_VALUE:
                raise ValueError(f"value of {name!r}: at most {MAX_CONTEXT_VALUE} characters")
        return value


class AnswerOffsets(BaseModel):
    """Character offsets ``[start, end)`` into the article body."""

    start: int
    end: int


class PlaceholderPublic(BaseModel):
    """An unfilled placeholder: ``answer[start:end] == "{name}"``."""

    name: str
    start: int
    end: int


class SuggestResultPublic(BaseModel):
    """One suggested article."""

    article_id: str
    title: str = Field(description="Plain text: any HTML markup in the article's title is removed.")
    snippet: str = Field(description="Plain text, HTML-escaped, matched terms wrapped in <mark>…</mark>.")
    score: float
    category: str | None
    updated: str | None
    stale: bool = Field(description="The article's review date has passed.")
    answer: str = Field(
        description="Plain text an agent can send (no markup, context values included): "
        "the reply template, or the best passage."
    )
    answer_source: Literal["template", "passage"]
    answer_offsets: AnswerOffsets = Field(description="The article-body text the answer was made from.")
    placeholders: list[PlaceholderPublic] = Field(description="Unfilled {name} placeholders in `answer`.")


class SuggestResponse(BaseModel):
    """POST /v1/suggest response."""

    suggestion_id: str
    results: list[SuggestResultPublic]
    answerable: bool
    searched_as: str | None = Field(
        None, description="The masked query as searched, when pinyin or typos were rewritten (tk多久到 → 退款多久到)."
    )
    index_version: str
    took_ms: float
