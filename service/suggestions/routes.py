"""POST /v1/suggest: customer message -> ranked articles with snippets and scores.

The route is ``async def`` on purpose: the work is pure CPU, and running it on the event
loop avoids handing every request to the thread pool, whose GIL contention costs more
than the work (``bench/load_test.py``). Nothing slow may be added here. Its one I/O, the
suggestion row, is committed by the group-commit writer (:mod:`service.writer`) while the
route awaits: a 2xx means the row is in the database, so an event for it is accepted by
every replica at once. The search runs in :class:`service.batcher.SearchBatcher`,
which embeds the queries of concurrent requests in one call. The suggested answers are
pure string work, cached per article (see ``indexer/answer.py``).

Every text field of a result is plain text with no HTML markup (:mod:`indexer.markup`),
except ``snippet``, which is escaped HTML with ``<mark>`` around matched terms.
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
import uuid
from datetime import date

from fastapi import APIRouter, Response

from indexer.answer import build_answer
from indexer.filters import Filters
from indexer.markup import strip_markup
from indexer.search import Hit, SearchResult
from service.deps import BatcherDep, MaskerDep, PrincipalDep, RetrieverDep, SettingsDep, WriterDep
from service.errors import DatabaseUnavailable, ServiceError
from service.fields import refuse_pii
from service.suggestions.direct import SuggestRoute
from service.suggestions.filters import check_filters
from service.suggestions.models import ScoredArticle, SuggestionRow
from service.suggestions.schemas import (
    AnswerOffsets,
    PlaceholderPublic,
    SuggestRequest,
    SuggestResponse,
    SuggestResultPublic,
)
from service.writer import RowNotWritten

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["suggest"], route_class=SuggestRoute)


def marked_snippet(hit: Hit) -> str:
    """The hit's snippet, HTML-escaped, with each matched term wrapped in ``<mark>``."""
    parts, last = [], 0
    for start, end in hit.highlights:
        if start < last:
            continue
        parts.append(html.escape(hit.snippet[last:start]))
        parts.append(f"<mark>{html.escape(hit.snippet[start:end])}</mark>")
        last = end
    parts.append(html.escape(hit.snippet[last:]))
    return "".join(parts)


def _plain(value: str | None) -> str | None:
    return None if value is None else strip_markup(value)


def _result(hit: Hit, today: str, terms: list[str], context: dict[str, str], max_chars: int) -> SuggestResultPublic:
    review_by: str | None = hit.meta.get("review_by")
    answer = build_answer(
        hit.meta.get("body", ""),
        (hit.chunk.start, hit.chunk.end),
        terms,
        lang=hit.meta.get("lang", "zh"),
        context=context,
        max_chars=max_chars,
    )
    return SuggestResultPublic.model_construct(
        article_id=hit.article_id,
        title=strip_markup(hit.title),
        snippet=marked_snippet(hit),
        score=round(hit.score, 6),
        category=_plain(hit.meta.get("category")),
        updated=hit.meta.get("updated"),
        stale=review_by is not None and review_by < today,
        answer=answer.text,
        answer_source=answer.source,
        answer_offsets=AnswerOffsets.model_construct(start=answer.start, end=answer.end),
        placeholders=[
            PlaceholderPublic.model_construct(name=p.name, start=p.start, end=p.end) for p in answer.placeholders
        ],
    )


def build_response(
    result: SearchResult,
    version: str,
    searched: str,
    context: dict[str, str],
    max_chars: int,
    *,
    started: float,
    suggestion_id: str | None = None,
    took_ms: float | None = None,
) -> SuggestResponse:
    """The response to a search of ``searched`` (the masked query) begun at ``started`` (perf_counter).

    ``suggestion_id`` and ``took_ms`` are those of the recorded row when it was submitted
    first (new ones otherwise). Built without validation (``model_construct``): every value
    comes typed from the search and the build, and validating the nested results cost more
    than serialising them.
    """
    today = date.today().isoformat()
    results = [_result(h, today, result.terms, context, max_chars) for h in result.hits]
    return SuggestResponse.model_construct(
        suggestion_id=suggestion_id or uuid.uuid4().hex,
        results=results,
        answerable=result.answerable,
        index_version=version,
        took_ms=took_ms if took_ms is not None else round((time.perf_counter() - started) * 1000, 3),
        searched_as=strip_markup(result.normalized) if result.normalized != searched else None,
    )


@router.post("/suggest", response_model=SuggestResponse, summary="Suggest KB articles for a customer message")
async def suggest(
    body: SuggestRequest,
    principal: PrincipalDep,
    retriever: RetrieverDep,
    masker: MaskerDep,
    writer: WriterDep,
    settings: SettingsDep,
    batcher: BatcherDep,
) -> Response:
    """Mask PII in the query, search the serving build and record the suggestion.

    Each result carries a reply-ready answer (:func:`indexer.answer.build_answer`);
    ``context`` values are masked like the query before they fill placeholders.
    The response is serialised here: it is built as a ``SuggestResponse`` already, and
    FastAPI would validate it a second time before encoding it.
    """
    started = time.perf_counter()
    masked = masker.mask(body.text)
    context = {name: masker.mask(value).text for name, value in (body.context or {}).items()}
    f = body.filters
    check_filters(retriever, f, body.channel)
    refuse_pii(masker, field="ticket_id", value=body.ticket_id)
    filters = Filters.of(f.category, f.product, f.tags, f.channel)
    # A build swapped in while this request waits does not affect it: it keeps its retriever.
    result = await batcher.search(
        retriever, masked.text, k=body.top_k, mode=body.mode, filters=filters, include_internal=principal.internal
    )
    # The row goes to the writer before the answers are built: its commit overlaps building and serialising them.
    suggestion_id, took_ms = uuid.uuid4().hex, round((time.perf_counter() - started) * 1000, 3)
    recorded = writer.submit(
        SuggestionRow(
            id=suggestion_id,
            api_key_id=principal.key_id,
            agent_id=principal.agent_id,
            ticket_id=body.ticket_id,
            channel=body.channel,
            query=masked.text,
            lang=body.lang,
            mode=body.mode,
            index_version=retriever.version,
            results=[ScoredArticle(article_id=h.article_id, score=round(h.score, 6)) for h in result.hits],
            answerable=result.answerable,
            took_ms=took_ms,
        )
    )
    response = build_response(
        result,
        retriever.version,
        masked.text,
        context,
        settings.answer_max_chars,
        started=started,
        suggestion_id=suggestion_id,
        took_ms=took_ms,
    )
    top = result.hits[0].score if result.hits else 0.0
    log.info("suggest k=%d took=%.1fms top=%.4f masked=%s", body.top_k, response.took_ms, top, dict(masked.counts))
    content = response.model_dump_json()  # serialised while the writer commits
    try:
        await asyncio.wrap_future(recorded)
    except RowNotWritten as exc:
        # No answer without its row: the client could not record a single event for it (404 on every replica).
        if exc.unavailable:
            raise DatabaseUnavailable(f"the suggestion could not be recorded: {exc}") from None
        raise ServiceError(f"the suggestion could not be recorded: {exc}") from None
    return Response(content, media_type="application/json")
