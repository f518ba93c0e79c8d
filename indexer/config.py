"""Settings shared by every kbassist command and the service (environment prefix ``KB_``).

One class, built once per process by the entry point and passed down; nothing reads
``os.environ`` elsewhere.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EmbeddingBackend = Literal["ensemble", "use-multilingual", "sentence-transformers"]
SearchMode = Literal["hybrid", "dense", "lexical"]
SEARCH_MODES: tuple[SearchMode, ...] = get_args(SearchMode)
StRuntime = Literal["onnx-int8", "onnx", "torch"]


class Settings(BaseSettings):
    """Every tunable of kbassist. Each field maps to ``KB_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="KB_", extra="ignore", env_ignore_empty=True)

    # --- locations ---
    content_dir: Path = Field(Path("./kb_content"), description="Where editors keep the articles.")
    data_dir: Path = Field(Path("./.kbassist"), description="Index builds and the SQLite file live here.")
    index_dir: Path | None = Field(None, description="Index root; defaults to $KB_DATA_DIR/index.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; defaults to SQLite in data_dir.")

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
    # Hybrid fusion; the formula and the figures behind each default are in indexer/search.py FusionParams.
    lexical_weight: float = Field(
        0.03, ge=0.0, description="BM25 weight numerator for Chinese queries (divided by the dense gap)."
    )
    lexical_weight_en: float = Field(0.02, ge=0.0, description="BM25 weight numerator for English queries.")
    lexical_cap: float = Field(1.0, ge=0.0, description="Upper bound of the per-query BM25 weight.")
    use_weight: float = Field(0.35, ge=0.0, description="Ensemble: weight of USE for English queries.")
    st_weight: float = Field(1.0, ge=0.0, description="Ensemble: weight of the English model for English queries.")
    candidates: int = Field(100, ge=1, le=5000, description="Chunks taken from each ranker before fusion.")
    normalize_queries: bool = Field(
        True, description="Rewrite pinyin, homophone typos and misspelt English into KB words (indexer/normalize.py)."
    )
    answerable_threshold: float | None = Field(
        None,
        description="Answer probability (SearchResult.confidence) below which a query counts as unanswerable; "
        "default: the threshold calibrated for the backend (indexer/answerable.py).",
    )

    # --- service (kbassist serve) ---
    host: str = Field("127.0.0.1", description="Address `kbassist serve` binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port `kbassist serve` listens on.")
    workers: int = Field(1, ge=1, le=64, description="Server processes; each holds the model and index in RAM.")
    reload_interval: float = Field(
        1.0, ge=0.0, description="Seconds between checks for a newly published build (0 = only on request)."
    )
    key_cache_seconds: float = Field(
        10.0, ge=0.0, description="How long a verified API key is trusted before the DB is asked again."
    )
    integration_internal: bool = Field(False, description="Whether integration keys may see internal articles.")
    pii_patterns: dict[str, str] = Field(
        default_factory=lambda: {"ORDER": r"XL\d{16}"},
        description='Extra PII regexes as JSON {"LABEL": "regex"}; matches become [LABEL].',
    )
    db_upgrade_on_start: bool = Field(True, description="Run `alembic upgrade head` when the service starts.")
    debug: bool = Field(False, description="Include tracebacks in 500 responses.")

    # --- service: usage tracking (service/usage) ---
    usage_time_zone: str = Field("Asia/Shanghai", description="Time zone of report periods (day, week, month).")
    usage_reopen_window_days: int = Field(
        7, ge=0, le=365, description="A resolved ticket counts as solved once this many days pass without a reopen."
    )
    usage_query_retention_days: int = Field(
        90, ge=0, description="`kbassist usage retention` blanks masked query text older than this (0 = keep)."
    )
    usage_suggestion_wait_seconds: float = Field(
        1.0, ge=0.0, le=30.0, description="With several workers: how long an event waits for its suggestion row."
    )
    usage_gap_distance: float = Field(
        0.35, gt=0.0, lt=2.0, description="Cosine distance under which content-gap queries join one group."
    )
    outcome_mappings: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Extra webhook field mappings as JSON {name: mapping} (docs/usage.md)."
    )

    @field_validator("usage_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as Asia/Shanghai)") from exc
        return value

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if self.index_dir is None:
            self.index_dir = self.data_dir / "index"
        if self.model_cache_dir is None:
            self.model_cache_dir = self.data_dir / "models"
        if self.database_url is None:
            self.database_url = f"sqlite:///{self.data_dir / 'kbassist.db'}"
        elif self.database_url.startswith("postgres://"):
            self.database_url = "postgresql+psycopg://" + self.database_url.removeprefix("postgres://")
        elif self.database_url.startswith("postgresql://"):
            self.database_url = "postgresql+psycopg://" + self.database_url.removeprefix("postgresql://")
        return self

    @property
    def index_root(self) -> Path:
        """The index directory, never None after validation."""
        assert self.index_dir is not None
        return self.index_dir


@lru_cache
def get_settings() -> Settings:
    """Settings from the environment, built once per process."""
    return Settings()
