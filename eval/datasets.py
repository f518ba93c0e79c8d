"""What evaluation runs on: a dataset folder or the golden set, the seeded query sample, leave-out variants.

A dataset folder holds ``articles.jsonl`` (one article per line, the indexer's JSONL
source format), ``queries.jsonl`` and optionally ``queries_oos.jsonl`` (queries no
article answers). Public sets are repaired on the way in (:func:`load_dataset`), so
that no article silently drops out of the evaluation.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from eval.data import Query, read_queries
from indexer.errors import ContentError
from indexer.validate import ID_RE

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
# The golden queries, judged against the shipped kb_content/; merged from eval/golden/parts/.
GOLDEN_QUERIES = Path(__file__).resolve().parent / "golden" / "queries.jsonl"
# Where the public sets are expected next to a checkout (override with --datasets).
PUBLIC_DATASETS = ROOT.parent / "shared" / "datasets"


@dataclass(frozen=True, slots=True)
class Dataset:
    """Articles to index plus the queries to run (answerable and no-answer ones)."""

    name: str
    articles: Path
    queries: list[Query]


def load_dataset(folder: Path, work_dir: Path) -> Dataset:
    """A dataset folder: ``articles.jsonl``, ``queries.jsonl`` and optionally ``queries_oos.jsonl``.

    Articles the indexer would reject are fixed in a copy under ``work_dir``: invalid ids
    (e.g. ``card_payment?``) are rewritten and the queries' relevant ids follow; a
    title-only article (empty body, as in bq_intents and tianchi_covid_qq) gets its title
    as body. No article silently drops out of the evaluation.

    Raises:
        ContentError: a required file is missing or malformed.
    """
    articles = folder / "articles.jsonl"
    if not articles.is_file():
        raise ContentError(f"{folder} has no articles.jsonl")
    queries = read_queries(folder / "queries.jsonl")
    if (folder / "queries_oos.jsonl").is_file():
        queries += read_queries(folder / "queries_oos.jsonl", prefix="oos")
    articles, renamed = _indexable_copy(articles, work_dir)
    if renamed:
        log.info("renamed %d invalid article id(s): %s", len(renamed), renamed)
        queries = [
            replace(q, relevant_ids=tuple(renamed.get(r, r) for r in q.relevant_ids)) if q.answerable else q
            for q in queries
        ]
    return Dataset(folder.resolve().name, articles, queries)


def _indexable_copy(articles: Path, work_dir: Path) -> tuple[Path, dict[str, str]]:
    """``articles`` itself, or a fixed copy under ``work_dir`` (see :func:`load_dataset`); plus old -> new ids."""
    raw = articles.read_bytes()
    records = [json.loads(line) for line in raw.decode("utf-8").splitlines() if line.strip()]
    taken = {str(r.get("id")) for r in records}
    renamed: dict[str, str] = {}
    changed = False
    for rec in records:
        if not str(rec.get("body") or "").strip() and str(rec.get("title") or "").strip():
            rec["body"], rec["title"], changed = rec["title"], "", True
        old = str(rec.get("id"))
        if ID_RE.match(old):
            continue
        base = re.sub(r"[^A-Za-z0-9_.\-]", "_", old).lstrip("_.-")[:120] or "article"
        new, n = base, 1
        while new in taken:
            n += 1
            new = f"{base}-{n}"
        taken.add(new)
        renamed[old] = rec["id"] = new
    if not renamed and not changed:
        return articles, {}
    copy = work_dir / "sources" / hashlib.sha256(raw).hexdigest()[:20] / "articles.jsonl"
    if not copy.is_file():
        copy.parent.mkdir(parents=True, exist_ok=True)
        tmp = copy.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        tmp.replace(copy)
    return copy, renamed


def golden_dataset(content_dir: Path, queries: Path | None = None) -> Dataset:
    """The shipped KB against the golden queries (default: :data:`GOLDEN_QUERIES`).

    Raises:
        ContentError: the golden queries file is missing (it is merged from eval/golden/parts/).
    """
    queries = queries or GOLDEN_QUERIES
    if not queries.is_file():
        raise ContentError(
            f"golden queries {queries} not found; merge eval/golden/parts/*.jsonl into it, or pass --dataset DIR"
        )
    return Dataset("golden", content_dir, read_queries(queries))


def sample(queries: Sequence[Query], limit: int | None, seed: int) -> list[Query]:
    """At most ``limit`` answerable and at most ``limit`` no-answer queries, drawn with ``seed``.

    Each group is sampled on its own (file order kept), so ``--limit 1000`` matches the
    peer table's "≤1,000 answerable queries" while keeping the no-answer share bounded.
    """
    if limit is None:
        return list(queries)
    rng = random.Random(seed)
    keep: set[str] = set()
    for group in ([q for q in queries if q.answerable], [q for q in queries if not q.answerable]):
        chosen = group if len(group) <= limit else rng.sample(group, limit)
        keep.update(q.query_id for q in chosen)
    return [q for q in queries if q.query_id in keep]


def leave_out(dataset: Dataset, share: float, seed: int, work_dir: Path) -> Dataset:
    """``dataset`` with a ``share`` of its articles removed; their queries become no-answer queries."""
    records = [json.loads(line) for line in dataset.articles.read_text(encoding="utf-8").splitlines() if line.strip()]
    rng = random.Random(seed)
    dropped = {str(r["id"]) for r in rng.sample(records, round(len(records) * share))}
    kept = [r for r in records if str(r["id"]) not in dropped]
    folder = work_dir / "leave-out" / f"{dataset.name}-{share}-{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "articles.jsonl"
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    queries = [
        Query(q.query_id, q.text, () if set(q.relevant_ids) & dropped else q.relevant_ids, q.lang, q.meta)
        for q in dataset.queries
        if q.answerable
    ]
    return Dataset(f"{dataset.name}-leave-out", path, queries)
