"""Response model of GET /v1/articles/{id}."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ArticlePublic(BaseModel):
    """One article as the sidebar shows it."""

    article_id: str
    title: str = Field(description="Plain text: any HTML markup in the title is removed.")
    lang: str
    category: str | None
    audience: str
    updated: str | None
    stale: bool = Field(description="The article's review date has passed.")
    index_version: str
    html: str = Field(description="The body rendered from Markdown and sanitised: no script, no event handlers.")
