"""Recorded content gaps (editor or admin): ``POST /v1/gaps`` records a group of the gaps report, ``GET`` lists.

An article names a recorded gap in its ``gap:`` front matter (docs/articles.md); publishing it
closes the gap and pays its authors the ``gap_article`` bonus (docs/credits.md).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Response

from service.deps import MaskerDep, SessionDep, require_roles
from service.errors import NotFound
from service.keys.auth import Principal
from service.usage import gap_records
from service.usage.schemas import GapCreate, GapId, GapPublic, GapsPublic

router = APIRouter(prefix="/v1/gaps", tags=["gaps"])

EditorDep = Annotated[Principal, Depends(require_roles("editor", "admin"))]


@router.post(
    "",
    response_model=GapPublic,
    status_code=201,
    summary="Record a content gap",
    responses={200: {"model": GapPublic, "description": "These examples were recorded before: the first record."}},
)
def post_gap(
    body: GapCreate, principal: EditorDep, session: SessionDep, masker: MaskerDep, response: Response
) -> GapPublic:
    """Record a group of masked queries (201); the same examples again return the first record (200)."""
    examples = [masker.mask(e).text for e in body.examples]
    title = masker.mask(body.title).text if body.title else None
    gap, created = gap_records.record_gap(
        session=session,
        examples=examples,
        title=title,
        size=body.size or len(examples),
        closest_article=body.closest_article,
        recorded_by=principal.agent_id or f"key:{principal.key_id}",
    )
    if not created:
        response.status_code = 200
    return GapPublic.model_validate(gap, from_attributes=True)


@router.get("", response_model=GapsPublic, summary="List recorded content gaps")
def get_gaps(
    _principal: EditorDep, session: SessionDep, status: Literal["open", "closed", "all"] = "open"
) -> GapsPublic:
    """Recorded gaps (open ones by default), oldest first."""
    rows = gap_records.list_gaps(session=session, status=None if status == "all" else status)
    return GapsPublic(data=[GapPublic.model_validate(g, from_attributes=True) for g in rows], count=len(rows))


@router.get("/{gap_id}", response_model=GapPublic, summary="One recorded content gap")
def get_gap(gap_id: Annotated[GapId, Path()], _principal: EditorDep, session: SessionDep) -> GapPublic:
    """A recorded gap, open or closed (with the article that closed it)."""
    gap = gap_records.get_gap(session=session, gap_id=gap_id)
    if gap is None:
        raise NotFound(f"content gap {gap_id} is not recorded", details={"gap_id": gap_id})
    return GapPublic.model_validate(gap, from_attributes=True)
