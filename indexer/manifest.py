"""``manifest.json``: what a build contains and how it was made."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path

from indexer import __version__

MANIFEST = "manifest.json"
FORMAT_VERSION = 2  # 2: chunks.jsonl without terms; term ids in bm25/


@dataclass(slots=True)
class Manifest:
    """Description of one index build, written last into its directory."""

    version: str
    built_at: str
    backend: str
    model: str
    dimension: int
    embedder_id: str
    faiss_index: str
    chunk_size: int
    analyzer: str
    n_articles: int
    n_chunks: int
    seconds: float
    article_hashes: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    # The KB's own USE weight for English queries (indexer/calibration.py); None: not an ensemble, or too few titles.
    ensemble_use_weight: float | None = None
    code_version: str = __version__
    format_version: int = FORMAT_VERSION

    def write(self, folder: Path) -> None:
        """Write ``manifest.json`` into ``folder``."""
        # Every field is already JSON-safe: a shallow dict spares asdict's deep copy of article_hashes.
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        (folder / MANIFEST).write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        """Read ``manifest.json`` from ``folder``."""
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})
