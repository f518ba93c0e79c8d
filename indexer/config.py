"""Settings of the indexer, shared by every kbassist command (environment prefix ``KB_``).

Built once per process by the entry point and passed down; nothing reads ``os.environ``
elsewhere. The service extends this class with its own fields (``service.config``), so
one prefix and one documented table cover both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EmbeddingBackend = Literal["ensemble", "use-multilingual", "sentence-transformers"]
SearchMode = Literal["hybrid", "dense", "lexical"]
ArticleScore = Literal["blend", "best"]
UseWeightRule = Literal["calibrated", "fixed"]
SEARCH_MODES: tuple[SearchMode, ...] = get_args(SearchMode)
StRuntime = Literal["onnx-int8", "onnx", "torch"]
EnsembleMix = Literal["weighted", "standardized", "confidence"]
# Subfolder of the data directory holding ONNX exports when KB_MODEL_CACHE_DIR is not set.
MODEL_CACHE = "models"


class Settings(BaseSettings):
    """Every tunable of indexing and search. Each field maps to ``KB_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="KB_", extra="ignore", env_ignore_empty=True)

    # --- locations ---
    content_dir: Path = Field(Path("./kb_content"), description="Where editors keep the articles.")
    data_dir: Path = Field(Path("./.kbassist"), description="Index builds (and the service's SQLite file) live here.")
    index_dir: Path | None = Field(None, description="Index root; defaults to $KB_DATA_DIR/index.")

    # --- embeddings ---
    embedding_backend: EmbeddingBackend = Field(
        "ensemble",
        description="Dense backend: ensemble (USE + English ST model), use-multilingual, sentence-transformers.",
    )
    embedding_model: str | None = Field(
        None,
        description="sentence-transformers model name or local path; default: the bundled all-MiniLM-L6-v2.",
    )
    st_runtime: StRuntime = Field(
        "onnx-int8",
        description="What runs the sentence-transformers model: ONNX Runtime with int8 weights, ONNX fp32 or torch.",
    )
    model_cache_dir: Path | None = Field(
        None, description="Where ONNX exports of models are kept; defaults to $KB_DATA_DIR/models."
    )
    allow_model_download: bool = Field(False, description="Allow the model loader to reach a model hub.")
    embed_batch_size: int = Field(64, ge=1, le=4096, description="Texts per embedding batch at build time.")
    embed_threads: int = Field(1, ge=1, le=64, description="BLAS threads per query embedding (1 serves best).")

    # --- chunking ---
    chunk_size: int = Field(360, ge=50, le=8000, description="Target chunk length in characters.")

    # --- answers ---
    answer_max_chars: int = Field(
        300, ge=20, le=4000, description="Longest passage answer in characters (reply templates are sent whole)."
    )

    # --- index ---
    exact_index_max_vectors: int = Field(
        100_000, ge=1, description="Exact FAISS search up to this many chunks; HNSW beyond."
    )
    keep_builds: int = Field(5, ge=1, le=100, description="How many builds to keep for rollback.")

    # --- retrieval ---
    # Hybrid fusion (the formula and the reason for it: indexer/fusion.py; the ensemble weights: indexer/dense.py).
    lexical_weight: float = Field(
        0.03, ge=0.0, description="BM25 weight numerator for Chinese queries (divided by the dense gap)."
    )
    lexical_weight_en: float = Field(0.02, ge=0.0, description="BM25 weight numerator for English queries.")
    lexical_cap: float = Field(1.0, ge=0.0, description="Upper bound of the per-query BM25 weight.")
    use_weight: float = Field(
        0.35, ge=0.0, description="Ensemble: weight of USE for English queries (the fixed rule, and the fallback)."
    )
    use_weight_rule: UseWeightRule = Field(
        "calibrated",
        description="Ensemble: calibrated (the build's own weight from its English titles, times "
        "KB_CALIBRATED_USE_SCALE; indexer/calibration.py) or fixed (KB_USE_WEIGHT).",
    )
    calibrated_use_scale: float = Field(
        0.5, ge=0.0, description="Ensemble: factor on the build's calibrated USE weight."
    )
    st_weight: float = Field(1.0, ge=0.0, description="Ensemble: weight of the English model for English queries.")
    ensemble_mix: EnsembleMix = Field(
        "weighted",
        description="Ensemble: how English queries mix the two cosines: weighted, standardized or confidence.",
    )
    article_score: ArticleScore = Field(
        "blend",
        description="Dense score of an article: blend (mean of its best chunk's and of all its chunks' mean "
        "score) or best (its best chunk's).",
    )
    title_weight: float = Field(
        0.0, ge=0.0, description="Hybrid: weight of the share of an article's title and tag terms the query names."
    )
    crosslingual_rescore: bool = Field(
        True,
        description="Bilingual builds: other-language candidates reordered by their title and tags (card), "
        "and BM25 kept from lifting the query's language over them (indexer/crosslingual.py).",
    )
    twin_lexical: bool = Field(
        False,
        description="Bilingual builds, hybrid mode: an article in the other language than the query takes the BM25 "
        "score of its counterpart in the query's language (indexer/crosslingual.py).",
    )
    candidates: int = Field(100, ge=1, le=5000, description="Chunks taken from each ranker before fusion.")
    normalize_queries: bool = Field(
        True, description="Rewrite pinyin, homophone typos and misspelt English into KB words (indexer/normalize.py)."
    )
    answerable_threshold: float | None = Field(
        None,
        description="Answer probability (SearchResult.confidence) below which a query counts as unanswerable; "
        "default: the threshold calibrated for the backend (indexer/answerable.py).",
    )

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if self.index_dir is None:
            self.index_dir = self.data_dir / "index"
        if self.model_cache_dir is None:
            self.model_cache_dir = self.data_dir / MODEL_CACHE
        return self

    @property
    def index_root(self) -> Path:
        """The index directory, never None after validation."""
        assert self.index_dir is not None
        return self.index_dir
