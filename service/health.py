"""Open endpoints: /healthz (alive), /readyz (serving build), /metrics (Prometheus)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from service.deps import HolderDep, MetricsDep

router = APIRouter(tags=["health"])


class ReadyPublic(BaseModel):
    """GET /readyz."""

    status: Literal["ready", "not_ready"]
    index_version: str | None
    articles: int
    loaded_at: datetime | None
    refused: dict[str, Any] | None


@router.get("/healthz", summary="Liveness")
async def healthz() -> dict[str, str]:
    """Always ok while the process serves HTTP."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=ReadyPublic,
    summary="Readiness and the serving index version",
    responses={503: {"model": ReadyPublic}},
)
async def readyz(holder: HolderDep) -> JSONResponse:
    """200 with the serving index version once a build is loaded, 503 before."""
    retriever = holder.retriever
    refused = holder.refused
    body = ReadyPublic(
        status="ready" if retriever else "not_ready",
        index_version=retriever.version if retriever else None,
        articles=len(retriever.articles) if retriever else 0,
        loaded_at=holder.loaded_at,
        refused={"version": refused.version, "error": refused.error, "at": refused.at.isoformat()} if refused else None,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if retriever else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(m: MetricsDep) -> Response:
    """Requests, latency histogram, serving index version and article count."""
    return Response(m.render(), media_type=m.content_type)
