"""GET /v1/articles/{id}: one article of the serving build, its body as safe HTML.

The audience rule is suggest's: a key that may not see internal articles gets the same
404 for an internal article as for an unknown one, so it cannot learn which ids exist.
Plain ``def``: rendering is CPU work on request data, run in the thread pool.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path

from indexer.markup import strip_markup
from service.articles.render import render
from service.articles.schemas import ArticlePublic
from service.deps import RetrieverDep, require_roles
from service.errors import NotFound
from service.keys.auth import Principal
from service.keys.models import ROLES

router = APIRouter(prefix="/v1", tags=["articles"])

ReaderDep = Annotated[Principal, Depends(require_roles(*ROLES))]
ArticleIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")]


@router.get("/articles/{article_id}", response_model=ArticlePublic, summary="Read one article")
def read_article(article_id: ArticleIdPath, principal: ReaderDep, retriever: RetrieverDep) -> ArticlePublic:
    """The article's metadata and its body rendered to sanitised HTML."""
    meta = retriever.articles.get(article_id)
    if meta is None or (meta.get("audience") == "internal" and not principal.internal):
        raise NotFound(f"article {article_id} not found", details={"article_id": article_id})
    review_by: str | None = meta.get("review_by")
    category = meta.get("category")
    return ArticlePublic(
        article_id=article_id,
        title=strip_markup(str(meta.get("title", ""))),
        lang=str(meta.get("lang") or "zh"),
        category=strip_markup(category) if category else None,
        audience=str(meta.get("audience") or "public"),
        updated=meta.get("updated"),
        stale=review_by is not None and review_by < date.today().isoformat(),
        index_version=retriever.version,
        html=render(str(meta.get("body", ""))),
    )
