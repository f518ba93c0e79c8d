"""A sentence-transformers model run by ONNX Runtime, optionally int8-quantised.

Why: on one core of the 2-core dev VM all-MiniLM-L6-v2 costs ~15 ms of torch per English
query, plus ~3 ms of ``SentenceTransformer.encode`` overhead. The same graph in ONNX
Runtime takes ~7 ms (vectors identical to 1e-6) and, with dynamic per-channel int8
weights, ~3.5 ms (cosine to the torch vector 0.994 on average over the golden set's
English queries). Compare the runtimes with ``KB_ST_RUNTIME=torch|onnx|onnx-int8
python bench/query_bench.py`` (English rows).
sentence-transformers' own ONNX backend needs ``optimum``, whose releases pin
transformers < 5, which sentence-transformers 6 cannot use; so the export is done here
with ``torch.onnx.export`` and ``onnxruntime.quantization``, once per model.

The export (torch, the model's weights) happens on first use and is cached under
``$KB_MODEL_CACHE_DIR/<model-key>/``; later loads need only ``onnxruntime`` and
``tokenizers``, never torch. Supported: a Transformer module followed by mean or CLS
pooling and optionally Normalize (the layout of every sentence-transformers bi-encoder
of the MiniLM / MPNet / BGE / E5 families). Anything else raises
:class:`OnnxUnsupported` and the caller falls back to torch.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import shutil
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

log = logging.getLogger(__name__)

FORMAT = 1  # bump when the exported files change meaning
META = "kbassist-onnx.json"
FP32, INT8 = "model.onnx", "model-int8.onnx"


class OnnxUnsupported(Exception):
    """The model's module layout has no ONNX path here; use torch."""


def model_key(source: str) -> str:
    """Cache folder name of ``source`` (a hub name or a local folder).

    A local folder's key covers its resolved path and every file's name and size, so
    a replaced model gets a new export.
    """
    h = hashlib.sha256(f"{FORMAT}\0{source}".encode())
    path = Path(source)
    if path.is_dir():
        h.update(str(path.resolve()).encode())
        for f in sorted(p for p in path.rglob("*") if p.is_file()):
            h.update(f"\0{f.relative_to(path)}\0{f.stat().st_size}".encode())
    slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in Path(source).name)[-40:]
    return f"{slug}-{h.hexdigest()[:12]}"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_export(source: str, cache_dir: Path) -> Path:
    """The folder holding ``source`` exported to ONNX (fp32 and int8), exporting it if needed.

    Concurrent callers (two server workers starting) wait on a lock; the folder
    appears by rename, so a crash mid-export leaves nothing half-written behind.
    """
    key = model_key(source)
    folder = cache_dir / key
    if (folder / META).is_file():
        return folder
    with _locked(cache_dir / f".{key}.lock"):
        if (folder / META).is_file():
            return folder
        tmp = cache_dir / f".{key}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            _export(source, tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        shutil.rmtree(folder, ignore_errors=True)  # a folder without META is not an export
        tmp.rename(folder)
    return folder


def _export(source: str, out: Path) -> None:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    log.info("exporting %s to ONNX under %s (once per model)", source, out)
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    model = SentenceTransformer(source, device="cpu")
    modules: list[Any] = list(model)
    kinds = [type(m).__name__ for m in modules]
    if kinds[:2] != ["Transformer", "Pooling"] or any(k != "Normalize" for k in kinds[2:]):
        raise OnnxUnsupported(f"module layout {kinds}")
    pooling = str(getattr(modules[1], "pooling_mode", ""))
    if pooling not in ("mean", "cls"):
        raise OnnxUnsupported(f"pooling {pooling!r}")
    tokenizer = model.tokenizer
    if getattr(tokenizer, "backend_tokenizer", None) is None:
        raise OnnxUnsupported("no fast tokenizer")
    names = [n for n in tokenizer.model_input_names if n in ("input_ids", "attention_mask", "token_type_ids")]
    hf_model = modules[0].auto_model.eval()

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = hf_model

        def forward(self, *inputs: Any) -> Any:
            return self.inner(**dict(zip(names, inputs, strict=True))).last_hidden_state

    sample = tokenizer(["kbassist exports this model once"], return_tensors="pt")
    axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "hidden"]}
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
        torch.onnx.export(
            Encoder(),
            tuple(sample[n] for n in names),
            str(out / FP32),
            input_names=names,
            output_names=["hidden"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    hint = _DropMessage("pre-processing before quantization")  # advice for static quantisation of CNNs
    logging.getLogger().addFilter(hint)
    try:
        quantize_dynamic(out / FP32, out / INT8, weight_type=QuantType.QInt8, per_channel=True)
    finally:
        logging.getLogger().removeFilter(hint)
    tokenizer.backend_tokenizer.save(str(out / "tokenizer.json"))
    meta = {
        "format": FORMAT,
        "source": source,
        "inputs": names,
        "pooling": pooling,
        "max_seq_length": int(modules[0].max_seq_length),
        "pad_id": int(tokenizer.pad_token_id or 0),
        "pad_token": str(tokenizer.pad_token or "[PAD]"),
        "dim": int(hf_model.config.hidden_size),
    }
    (out / META).write_text(json.dumps(meta, indent=1), encoding="utf-8")


class _DropMessage(logging.Filter):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()


class OnnxEncoder:
    """Encode texts with an exported model: tokenize, run, pool, normalise.

    Two graphs share the tokenizer: fp32 (vectors equal to torch's) and int8. int8's
    activation scales are computed per call over the whole padded batch, so a text's
    vector would depend on its batch neighbours; it is therefore meant for one query
    at a time, and passages are embedded with fp32. Sessions load on first use (the
    service never embeds passages, so it never loads the fp32 graph).
    """

    def __init__(self, folder: Path, *, threads: int = 1) -> None:
        from tokenizers import Tokenizer

        self.folder = folder
        self.meta = json.loads((folder / META).read_text(encoding="utf-8"))
        self.dim = int(self.meta["dim"])
        self._threads = threads
        self._sessions: dict[str, Any] = {}
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=int(self.meta["max_seq_length"]))
        self._tokenizer.enable_padding(pad_id=int(self.meta["pad_id"]), pad_token=str(self.meta["pad_token"]))

    def _session(self, quantized: bool) -> Any:
        name = INT8 if quantized else FP32
        if name not in self._sessions:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = self._threads
            options.inter_op_num_threads = 1
            # Idle intra-op threads must not spin: server workers share two cores.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            options.log_severity_level = 3
            self._sessions[name] = ort.InferenceSession(
                str(self.folder / name), options, providers=["CPUExecutionProvider"]
            )
        return self._sessions[name]

    def encode(self, texts: Sequence[str], *, quantized: bool = False, batch_size: int = 64) -> NDArray[np.float32]:
        """L2-normalised vectors of ``texts``; batches group texts of similar length."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        session = self._session(quantized)
        order = np.argsort([len(t) for t in texts], kind="stable")
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = self._run(session, [texts[i] for i in idx])
        return out

    def _run(self, session: Any, texts: list[str]) -> NDArray[np.float32]:
        encodings = self._tokenizer.encode_batch(texts)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        columns = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": mask,
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        hidden = session.run(None, {n: columns[n] for n in self.meta["inputs"]})[0]
        if self.meta["pooling"] == "cls":
            pooled = hidden[:, 0]
        else:
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.asarray(pooled / np.maximum(norms, 1e-12), dtype=np.float32)
