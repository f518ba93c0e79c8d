"""Open endpoints: /healthz (alive), /readyz (serving build), /metrics (Prometheus; a key if configured)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from service.deps import HolderDep, MetricsDep, SettingsDep, get_principal

router = APIRouter(tags=["health"])


class RefusedPublic(BaseModel):
    """A published build the service refused; the full error is only in the log."""

    version: str
    reason: str = Field(description="A stable code: see `service.index.REASONS`.")
    at: datetime


class ReadyPublic(BaseModel):
    """GET /readyz (open: names versions and reason codes, never paths or error texts)."""

    status: Literal["ready", "degraded", "not_ready"] = Field(
        description="`degraded`: a build serves, but not the published one (it was refused)."
    )
    index_version: str | None = Field(description="The serving build.")
    articles: int
    loaded_at: datetime | None
    refused: RefusedPublic | None
    warning: str | None = Field(None, description="What is wrong and what serves instead, when degraded.")


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
    """200 with the serving index version once a build is loaded (``degraded`` if not the published one), 503 before."""
    retriever = holder.retriever
    refused = holder.refused
    warning = None
    if refused is not None:
        serving = f"still serving {retriever.version}" if retriever else "no build serves"
        if holder.fallback and retriever:
            serving = f"serving build {retriever.version} instead since start-up"
        warning = f"published build {refused.version} was refused ({refused.reason}); {serving}"
    body = ReadyPublic(
        status="not_ready" if retriever is None else "degraded" if refused else "ready",
        index_version=retriever.version if retriever else None,
        articles=len(retriever.articles) if retriever else 0,
        loaded_at=holder.loaded_at,
        refused=RefusedPublic(version=refused.version, reason=refused.reason, at=refused.at) if refused else None,
        warning=warning,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if retriever else 503)


async def metrics_access(request: Request, settings: SettingsDep) -> None:
    """Any valid API key when ``KB_METRICS_ACCESS=key``; nothing otherwise."""
    if settings.metrics_access == "key":
        await get_principal(request)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response, dependencies=[Depends(metrics_access)])
async def metrics(m: MetricsDep) -> Response:
    """Requests, latency histogram, serving index version and article count."""
    return Response(m.render(), media_type=m.content_type)
