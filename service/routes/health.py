"""Open endpoints: /healthz (alive), /readyz (serving build), /metrics (Prometheus; a key if configured)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from service.deps import HolderDep, MetricsDep, SettingsDep, get_principal
from service.schemas import ReadyPublic

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness")
async def healthz() -> dict[str, str]:
    """Always ok while the process serves HTTP."""
    return {"status": "ok"}


@router.get("/readyz", response_model=ReadyPublic, summary="Readiness and the serving index version",
            responses={503: {"model": ReadyPublic}})  # fmt: skip
async def readyz(holder: HolderDep) -> JSONResponse:
    """200 with the serving index version once a build is loaded, 503 before."""
    retriever = holder.retriever
    refused = holder.refused
    body = ReadyPublic(
        status="ready" if retriever else "not_ready",
        index_version=retriever.version if retriever else None,
        articles=len(retriever.articles) if retriever else 0,
        loaded_at=holder.loaded_at,
        refused={"version": refused.version, "error": refused.error, "at": refused.at.isoformat()}
        if refused else None,
    )  # fmt: skip
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if retriever else 503)


async def metrics_access(request: Request, settings: SettingsDep) -> None:
    """Any valid API key when ``KB_METRICS_ACCESS=key``; nothing otherwise."""
    if settings.metrics_access == "key":
        await get_principal(request)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response, dependencies=[Depends(metrics_access)])
async def metrics(m: MetricsDep) -> Response:
    """Requests, latency histogram, serving index version and article count."""
    return Response(m.render(), media_type=m.content_type)
