# kbassist service image: CPU-only torch, both embedding models inside their wheels
# (nothing is downloaded at run time), the bundled KB indexed at build time.
FROM python:3.11-slim AS base

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    KB_DATA_DIR=/data \
    KB_MODEL_CACHE_DIR=/app/models \
    KB_CONTENT_DIR=/app/kb_content \
    KB_HOST=0.0.0.0 \
    KB_PORT=8000

WORKDIR /app

# Dependencies first (cached layer): the CPU build of torch from PyTorch's CPU index,
# pinned, so pip never pulls the multi-GB CUDA wheels.
COPY pyproject.toml README.md ./
RUN pip install --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0" \
 && mkdir -p indexer service eval \
 && touch indexer/__init__.py service/__init__.py eval/__init__.py \
 && pip install ".[st]" \
 && pip uninstall -y kbassist

COPY indexer ./indexer
COPY service ./service
COPY eval ./eval
COPY kb_content ./kb_content
RUN pip install --no-deps . \
 && useradd --create-home --uid 10001 kbassist \
 && mkdir -p /data /app/models && chown kbassist /data /app/models

USER kbassist
# Index the bundled KB into the image's data dir (this also makes the one-time ONNX export of
# MiniLM into /app/models, outside the volume); mount a volume on /data to keep the SQLite
# database and later builds.
RUN kbassist index

EXPOSE 8000
# One process per container: every worker holds both models and the index in RAM.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz').status == 200 else 1)"
CMD ["kbassist", "serve"]
