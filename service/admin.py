"""Admin endpoints (editor or admin keys): ask for the published index build now."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from service.deps import HolderDep, ReloaderDep
from service.index import Outcome

router = APIRouter(prefix="/v1/admin", tags=["admin"])


class ReloadPublic(BaseModel):
    """POST /v1/admin/reload."""

    outcome: Outcome
    index_version: str | None
    message: str | None = None


@router.post("/reload", response_model=ReloadPublic, summary="Check for a newly published build now")
async def reload_index(holder: HolderDep, _principal: ReloaderDep) -> ReloadPublic:
    """Load the published build if it differs from the serving one (a refused build is retried)."""
    outcome, message = await run_in_threadpool(holder.request_reload)
    return ReloadPublic(outcome=outcome, index_version=holder.version, message=message)
