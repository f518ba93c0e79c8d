"""Golden-set quality per query type (colloquial, typo, pinyin, crosslingual, …) and language.

``python -m eval.breakdown [--backend B] [--mode M]`` evaluates ``kb_content/`` against
``eval/golden/queries.jsonl`` with the configured settings and prints one Markdown row
per ``meta.type`` and per query language; crosslingual queries are the ones whose answer
is written in the other language.
"""

from __future__ import annotations

import argparse
import logging
from collections import defaultdict
from pathlib import Path

from eval.metrics import mrr_at, recall_at
from eval.run import cached_retriever, golden_dataset, run_queries
from indexer.config import SEARCH_MODES, Settings
from indexer.factory import make_embedder

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    """Print the breakdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default=None)
    parser.add_argument("--mode", default="hybrid", choices=SEARCH_MODES)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    settings = Settings()
    if args.backend:
        settings = settings.model_copy(update={"embedding_backend": args.backend})
    dataset = golden_dataset(settings.content_dir, ROOT / "eval" / "golden" / "queries.jsonl")
    retriever = cached_retriever(dataset.articles, settings, make_embedder)
    report = run_queries(retriever, dataset.queries, args.mode)
    groups: dict[str, list[tuple[float, float]]] = defaultdict(list)
    no_answer: dict[str, list[bool]] = defaultdict(list)
    for res in report.results:
        q = res.query
        keys = [f"type={q.meta.get('type', '?')}", f"lang={q.lang}", "all"]
        if not q.relevant_ids:
            for key in keys:
                no_answer[key].append(not res.answerable)
            continue
        scores = (recall_at(res.ranking, q.relevant_ids, 5), mrr_at(res.ranking, q.relevant_ids, 10))
        for key in keys:
            groups[key].append(scores)
    print(f"golden set, {settings.embedding_backend}/{args.mode}")  # noqa: T201
    print("| group | queries | R@5 | MRR@10 |\n|---|---|---|---|")  # noqa: T201
    for key in sorted(groups):
        rows = groups[key]
        r5 = sum(r for r, _ in rows) / len(rows)
        mrr = sum(m for _, m in rows) / len(rows)
        print(f"| {key} | {len(rows)} | {r5:.3f} | {mrr:.3f} |")  # noqa: T201
    flagged = no_answer.get("all", [])
    if flagged:
        print(f"\nno-answer queries flagged answerable=false: {sum(flagged)}/{len(flagged)}")  # noqa: T201


if __name__ == "__main__":
    main()
