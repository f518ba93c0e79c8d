"""Evaluation records and their files: queries JSONL in, TREC qrels and run files out.

Three tiny records carry everything: :class:`Qrel` (a judgement), :class:`ScoredDoc`
(one ranked result) and :class:`Metric` (one measured value).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from indexer.errors import ContentError


class Qrel(NamedTuple):
    """Query ``query_id`` finds ``doc_id`` relevant with grade ``relevance`` (binary here: 1)."""

    query_id: str
    doc_id: str
    relevance: int


class ScoredDoc(NamedTuple):
    """``doc_id`` was retrieved for ``query_id`` with ``score`` (higher ranks first)."""

    query_id: str
    doc_id: str
    score: float


class Metric(NamedTuple):
    """``measure`` (e.g. ``"ndcg@10"``) took ``value`` on ``query_id`` (``"all"`` = the mean)."""

    query_id: str
    measure: str
    value: float


@dataclass(frozen=True, slots=True)
class Query:
    """One evaluation query; ``relevant_ids`` empty means no article answers it."""

    query_id: str
    text: str
    relevant_ids: tuple[str, ...]
    lang: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def answerable(self) -> bool:
        """Whether some article is labelled as answering the query."""
        return bool(self.relevant_ids)


def read_queries(path: Path, prefix: str = "q") -> list[Query]:
    """Read a queries file (``{"query", "relevant_ids", "lang", "meta"?}`` per line).

    Args:
        path: the JSONL file.
        prefix: query ids are ``<prefix><line number>``, stable for a given file.

    Raises:
        ContentError: the file is missing or a line is not a valid query record.
    """
    if not path.is_file():
        raise ContentError(f"queries file {path} does not exist")
    queries = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                text = rec["query"]
                relevant = rec.get("relevant_ids") or []
                if not isinstance(text, str) or not isinstance(relevant, list):
                    raise TypeError("query must be a string and relevant_ids a list")
            except (ValueError, KeyError, TypeError) as exc:
                raise ContentError(f"{path}:{lineno}: bad query record: {exc}") from exc
            queries.append(
                Query(
                    query_id=f"{prefix}{lineno}",
                    text=text,
                    relevant_ids=tuple(str(r) for r in relevant),
                    lang=str(rec.get("lang") or "und"),
                    meta=rec.get("meta") or {},
                )
            )
    return queries


def qrels_of(queries: Iterable[Query]) -> list[Qrel]:
    """Binary judgements of every answerable query."""
    return [Qrel(q.query_id, doc, 1) for q in queries for doc in q.relevant_ids]


def write_qrels(path: Path, qrels: Iterable[Qrel]) -> None:
    """Write TREC qrels: ``query_id 0 doc_id relevance`` per line."""
    with path.open("w", encoding="utf-8") as fh:
        for qrel in qrels:
            fh.write(f"{qrel.query_id} 0 {qrel.doc_id} {qrel.relevance}\n")


def write_run(path: Path, run: Iterable[ScoredDoc], tag: str) -> None:
    """Write a TREC run: ``query_id Q0 doc_id rank score tag`` per line.

    The rank is the position within the query in input order. The score written is
    ``1/rank``, not the retrieval score: fused scores often tie, and a tool that
    re-sorts by score must see exactly our order.
    """
    rank: dict[str, int] = {}
    with path.open("w", encoding="utf-8") as fh:
        for doc in run:
            r = rank[doc.query_id] = rank.get(doc.query_id, 0) + 1
            fh.write(f"{doc.query_id} Q0 {doc.doc_id} {r} {1.0 / r:.10f} {tag}\n")


def read_qrels(path: Path) -> list[Qrel]:
    """Read a TREC qrels file written by :func:`write_qrels` (or any other tool)."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            qid, _, doc, rel = line.split()
            out.append(Qrel(qid, doc, int(rel)))
    return out


def read_run(path: Path) -> list[ScoredDoc]:
    """Read a TREC run file, in file order."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            qid, _, doc, _, score, *_ = line.split()
            out.append(ScoredDoc(qid, doc, float(score)))
    return out
