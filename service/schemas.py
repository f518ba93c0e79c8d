"""Request and response schemas of the HTTP API (not tables)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


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

    query: str = Field(min_length=1, max_length=4000, description="The customer's message.")
    ticket_id: str | None = Field(None, max_length=128)
    channel: str | None = Field(None, max_length=32)
    lang: str | None = Field(None, max_length=16)
    top_k: int = Field(5, ge=1, le=50)
    mode: Literal["hybrid", "dense", "lexical"] = "hybrid"
    filters: SuggestFilters = Field(default_factory=SuggestFilters)

    @field_validator("query")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


class SuggestResultPublic(BaseModel):
    """One suggested article."""

    article_id: str
    title: str
    snippet: str = Field(description="Plain text, HTML-escaped, matched terms wrapped in <mark>…</mark>.")
    score: float
    category: str | None
    updated: str | None
    stale: bool = Field(description="The article's review date has passed.")


class SuggestResponse(BaseModel):
    """POST /v1/suggest response."""

    suggestion_id: str
    results: list[SuggestResultPublic]
    answerable: bool
    index_version: str
    took_ms: float


class ReadyPublic(BaseModel):
    """GET /readyz."""

    status: Literal["ready", "not_ready"]
    index_version: str | None
    articles: int
    loaded_at: datetime | None
    refused: dict[str, Any] | None


class ReloadPublic(BaseModel):
    """POST /v1/admin/reload."""

    outcome: Literal["unchanged", "loaded", "refused", "missing"]
    index_version: str | None
    message: str | None = None
